// json_check.cpp — see json_check.hpp.
#include "core/json_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace attnscope {

using nlohmann::json;

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

bool one_of(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

std::string json_type_word(const json& j) {
  switch (j.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "text";
    case json::value_t::boolean: return "true/false";
    case json::value_t::null: return "null";
    default: return "a number";
  }
}

std::optional<json> parse_json_text(std::string_view text, const std::string& source, std::vector<std::string>& errors) {
  try {
    json parsed = json::parse(text.begin(), text.end());
    // A key given twice: nlohmann keeps the last silently, so which one counts would be a guess. Refused, by line.
    const std::vector<std::string> duplicates = JsonLines(text).duplicate_errors(source);
    if (duplicates.empty()) return parsed;
    errors.insert(errors.end(), duplicates.begin(), duplicates.end());
    return std::nullopt;
  } catch (const json::parse_error& e) {
    errors.push_back(source + ":" + std::to_string(line_of_offset(text, e.byte)) + ": not valid JSON (" + e.what() +
                     ")");
  } catch (const json::exception& e) {  // a number out of range, e.g. 1e400
    errors.push_back(source + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return std::nullopt;
}

namespace {

// "1 MiB", "256 KiB", "17825792 bytes (17.0 MiB)": sizes in the bounded reader's messages.
std::string limit_text(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string size_text(std::uintmax_t bytes) {
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return std::to_string(bytes) + " bytes (" + mib + ")";
}

}  // namespace

bool read_bounded_file(const std::string& path, std::size_t max_bytes, const char* what, std::string& text,
                       std::vector<std::string>& errors) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    errors.push_back(path + ": is a folder; give a " + std::string(what) + " file");
    return false;
  }
  const std::string too_large = "; a " + std::string(what) + " file is at most " + limit_text(max_bytes);
  // A regular file's size is known before reading: refuse a large one unread. Devices and pipes (/dev/zero) have
  // no size; for them the read below stops one byte past the limit.
  if (std::filesystem::is_regular_file(status)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes) {
      errors.push_back(path + ": " + size_text(size) + too_large);
      return false;
    }
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    errors.push_back(path + ": cannot open the " + std::string(what) + " file (missing or unreadable)");
    return false;
  }
  text.assign(max_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) {
    errors.push_back(path + ": cannot read the " + std::string(what) + " file");
    return false;
  }
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > max_bytes) {
    errors.push_back(path + ": more than " + limit_text(max_bytes) + " (read stopped there)" + too_large);
    text.clear();
    return false;
  }
  return true;
}

void JsonChecker::error(const std::string& pointer, const std::string& message) {
  errors.push_back(source_ + ":" + std::to_string(lines_.line_of(pointer)) + ": " +
                   (pointer.empty() ? std::string("(top level)") : pointer) + ": " + message);
}

void JsonChecker::only_keys(const json& object, const std::string& pointer, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : object.items()) {
    if (!allowed.count(key)) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      error(pointer + "/" + json_pointer_token(key), "unknown key '" + key + "'; the keys are " + join_words(names));
    }
  }
}

std::optional<std::string> JsonChecker::text(const json& object, const std::string& pointer, const std::string& key,
                                             bool required) {
  if (!object.contains(key)) {
    if (required) error(pointer, "'" + key + "' is missing");
    return std::nullopt;
  }
  const json& v = object.at(key);
  if (!v.is_string()) {
    error(pointer + "/" + json_pointer_token(key), "must be text, not " + json_type_word(v));
    return std::nullopt;
  }
  return v.get<std::string>();
}

std::optional<double> JsonChecker::number(const json& v, const std::string& pointer, double lo, double hi) {
  auto range = [&] {
    auto fmt = [](double x) {
      std::string s = json(x).dump();
      return s.size() > 2 && s.substr(s.size() - 2) == ".0" ? s.substr(0, s.size() - 2) : s;
    };
    return "from " + fmt(lo) + " to " + fmt(hi);
  };
  if (!v.is_number()) {
    error(pointer, "must be a number " + range() + ", not " + json_type_word(v));
    return std::nullopt;
  }
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) {
    error(pointer, "must be " + range() + ", not " + v.dump());
    return std::nullopt;
  }
  return x;
}

std::optional<std::array<double, 4>> JsonChecker::zoom_window(const json& z, const std::string& pointer) {
  if (!z.is_array() || z.size() != 4) {
    error(pointer, "must be four fractions [x0, y0, x1, y1], not " + json_type_word(z));
    return std::nullopt;
  }
  std::array<double, 4> box{};
  bool ok = true;
  for (std::size_t i = 0; i < 4; ++i) {
    auto f = fraction(z[i], pointer + "/" + std::to_string(i));
    ok = ok && f.has_value();
    if (f) box[i] = *f;
  }
  if (!ok) return std::nullopt;
  if (!(box[0] < box[2] && box[1] < box[3])) {
    error(pointer, "needs x0 < x1 and y0 < y1 (the window's corners), not " + z.dump());
    return std::nullopt;
  }
  return box;
}

std::optional<int64_t> JsonChecker::integer(const json& v, const std::string& pointer, int64_t lo, int64_t hi) {
  const std::string want = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo) return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= lo && i <= hi) return i;
  }
  error(pointer, "must be " + want + ", not " + (v.is_number() || v.is_string() ? v.dump() : json_type_word(v)));
  return std::nullopt;
}

}  // namespace attnscope
