// json_check.hpp — checking hand-written JSON files (lessons, scenes, settings) key by key, with every error
// naming the file, the line and the key: "lesson.json:37: /steps/3/mode: unknown mode 'Flash'; choose ...".
// All problems of a file are collected, so one run of the app shows every one of them.
#pragma once
#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_lines.hpp"

namespace attnscope {

// "a, b, c"
std::string join_words(const std::vector<std::string>& words);
// True when `list` is empty (anything goes) or holds `value`.
bool one_of(const std::vector<std::string>& list, const std::string& value);
// "an object", "a list", "text", "true/false", "null", "a number": for "must be X, not Y" messages.
std::string json_type_word(const nlohmann::json& value);

// Parses `text`; on a syntax error (or a number out of range) returns nullopt and appends
// "SOURCE:LINE: not valid JSON (...)" to `errors`; a key given twice in one object likewise, one error per key:
// "SOURCE:LINE: key "k" is given twice (first on line L); keep one".
std::optional<nlohmann::json> parse_json_text(std::string_view text, const std::string& source,
                                              std::vector<std::string>& errors);

// Reads a file of at most `max_bytes` into `text`; false (with an error naming the path) when it is missing,
// a folder, unreadable or larger.
bool read_bounded_file(const std::string& path, std::size_t max_bytes, const char* what, std::string& text,
                       std::vector<std::string>& errors);

class JsonChecker {
 public:
  JsonChecker(const std::string& source, const JsonLines& lines) : source_(source), lines_(lines) {}

  void error(const std::string& pointer, const std::string& message);
  int line(const std::string& pointer) const { return lines_.line_of(pointer); }
  // Every key of `object` outside `allowed` is an error (typos are reported, not ignored).
  void only_keys(const nlohmann::json& object, const std::string& pointer, const std::set<std::string>& allowed);
  // A text field: nullopt (and an error when required or of the wrong type) if absent or not text.
  std::optional<std::string> text(const nlohmann::json& object, const std::string& pointer, const std::string& key,
                                  bool required);
  // A number in [lo, hi].
  std::optional<double> number(const nlohmann::json& value, const std::string& pointer, double lo, double hi);
  std::optional<double> fraction(const nlohmann::json& value, const std::string& pointer) {
    return number(value, pointer, 0.0, 1.0);
  }
  // A zoom window [x0, y0, x1, y1]: four fractions of the matrix with x0 < x1 and y0 < y1.
  std::optional<std::array<double, 4>> zoom_window(const nlohmann::json& value, const std::string& pointer);
  // A whole number in [lo, hi] (checked before conversion: 1e400 or 2^64 never wraps).
  std::optional<int64_t> integer(const nlohmann::json& value, const std::string& pointer, int64_t lo, int64_t hi);

  std::vector<std::string> errors;

 private:
  const std::string& source_;
  const JsonLines& lines_;
};

}  // namespace attnscope
