// json_lines.hpp — the line on which each value of a JSON text starts, looked up by JSON pointer.
//
// Lesson, scene and settings files are written by hand, so a bad value must be reported by file and line
// ("lesson.json:37: /steps/3/mode ..."). nlohmann-json 3.11 (the version Debian 12 packages) parses without
// recording positions, so this scanner walks the text once beside it. It accepts what JSON accepts; on a syntax
// error it keeps what it indexed so far (the parse error itself comes from nlohmann-json, with its byte offset,
// which line_of_offset turns into a line).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attnscope {

// A key given twice in one object (nlohmann-json keeps the last one silently, so the scanner reports it).
struct DuplicateKey {
  std::string object;  // JSON pointer of the object ("" the root)
  std::string key;
  int line = 0;        // where it is given again
  int first_line = 0;  // where it was given first
};

class JsonLines {
 public:
  explicit JsonLines(std::string_view text);
  // Every key given twice (or more) within one object, in text order.
  const std::vector<DuplicateKey>& duplicates() const { return duplicates_; }
  // "SOURCE:LINE: key "k" is given twice (first on line L); keep one", with " in /object" for a nested object.
  std::vector<std::string> duplicate_errors(const std::string& source) const;
  // Line (1-based) where the value at `pointer` (RFC 6901: "" the root, "/steps/2/mode") starts. A pointer that is
  // not in the text gives its nearest indexed ancestor's line, so "the key is missing" points at the object.
  int line_of(std::string_view pointer) const;

 private:
  std::unordered_map<std::string, int> lines_;
  std::vector<DuplicateKey> duplicates_;
};

// 1-based line of a byte offset (nlohmann-json's parse_error::byte is 1-based: the byte after the last one read).
int line_of_offset(std::string_view text, std::size_t byte_offset);

// RFC 6901 escaping of one reference token ('~' -> "~0", '/' -> "~1").
std::string json_pointer_token(std::string_view key);

}  // namespace attnscope
