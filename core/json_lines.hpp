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

namespace attnscope {

class JsonLines {
 public:
  explicit JsonLines(std::string_view text);
  // Line (1-based) where the value at `pointer` (RFC 6901: "" the root, "/steps/2/mode") starts. A pointer that is
  // not in the text gives its nearest indexed ancestor's line, so "the key is missing" points at the object.
  int line_of(std::string_view pointer) const;

 private:
  std::unordered_map<std::string, int> lines_;
};

// 1-based line of a byte offset (nlohmann-json's parse_error::byte is 1-based: the byte after the last one read).
int line_of_offset(std::string_view text, std::size_t byte_offset);

// RFC 6901 escaping of one reference token ('~' -> "~0", '/' -> "~1").
std::string json_pointer_token(std::string_view key);

}  // namespace attnscope
