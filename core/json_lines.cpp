// json_lines.cpp — a recursive-descent walk over JSON text that records, for every value, the line it starts on.
// Only positions are computed here; values are parsed by nlohmann-json.
#include "core/json_lines.hpp"

#include <algorithm>

namespace attnscope {
namespace {

constexpr int kMaxDepth = 256;  // nesting beyond this stops the index (no deep recursion on hostile input)

struct StopScan {};

class Scanner {
 public:
  Scanner(std::string_view text, std::unordered_map<std::string, int>& lines, std::vector<DuplicateKey>& duplicates)
      : text_(text), lines_(lines), duplicates_(duplicates) {}

  void scan_document() {
    skip_space();
    value("", 0);
  }

 private:
  std::string_view text_;
  std::unordered_map<std::string, int>& lines_;
  std::vector<DuplicateKey>& duplicates_;
  std::size_t pos_ = 0;
  int line_ = 1;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void advance() {
    if (at_end()) throw StopScan{};
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  void expect(char c) {
    if (peek() != c) throw StopScan{};
    advance();
  }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) advance();
  }

  // A string's raw contents, escapes decoded only as far as keys need them (\" \\ \/ and the control letters;
  // \uXXXX is kept as written: keys in our files are ASCII, and the index only has to match nlohmann's keys there).
  std::string string_token() {
    expect('"');
    std::string out;
    while (peek() != '"') {
      if (at_end()) throw StopScan{};
      char c = peek();
      advance();
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      char e = peek();
      advance();
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': out += "\\u"; break;
        default: out.push_back(e);
      }
    }
    advance();
    return out;
  }

  void value(const std::string& pointer, int depth) {
    if (depth > kMaxDepth) throw StopScan{};
    lines_.emplace(pointer, line_);
    const char c = peek();
    if (c == '{') {
      advance();
      skip_space();
      if (peek() == '}') return advance();
      std::unordered_map<std::string, int> keys;  // this object's keys and the line each was first given on
      for (;;) {
        skip_space();
        const int key_line = line_;
        const std::string key = string_token();
        if (const auto [first, inserted] = keys.emplace(key, key_line); !inserted)
          duplicates_.push_back(DuplicateKey{pointer, key, key_line, first->second});
        skip_space();
        expect(':');
        skip_space();
        value(pointer + "/" + json_pointer_token(key), depth + 1);
        skip_space();
        if (peek() == ',') {
          advance();
          continue;
        }
        expect('}');
        return;
      }
    }
    if (c == '[') {
      advance();
      skip_space();
      if (peek() == ']') return advance();
      for (std::size_t index = 0;; ++index) {
        skip_space();
        value(pointer + "/" + std::to_string(index), depth + 1);
        skip_space();
        if (peek() == ',') {
          advance();
          continue;
        }
        expect(']');
        return;
      }
    }
    if (c == '"') {
      string_token();
      return;
    }
    // number, true, false, null: everything up to the next delimiter
    if (at_end()) throw StopScan{};
    while (!at_end() && std::string_view(",]} \t\r\n").find(peek()) == std::string_view::npos) advance();
  }
};

}  // namespace

JsonLines::JsonLines(std::string_view text) {
  Scanner scanner(text, lines_, duplicates_);
  try {
    scanner.scan_document();
  } catch (const StopScan&) {
    // a syntax error or too deep: what was indexed stays usable
  }
}

int JsonLines::line_of(std::string_view pointer) const {
  std::string p(pointer);
  for (;;) {
    if (auto it = lines_.find(p); it != lines_.end()) return it->second;
    if (p.empty()) return 1;
    p.erase(p.rfind('/'));
  }
}

std::vector<std::string> JsonLines::duplicate_errors(const std::string& source) const {
  std::vector<std::string> out;
  for (const DuplicateKey& d : duplicates_)
    out.push_back(source + ":" + std::to_string(d.line) + ": key \"" + d.key + "\"" +
                  (d.object.empty() ? "" : " in " + d.object) + " is given twice (first on line " +
                  std::to_string(d.first_line) + "); keep one");
  return out;
}

int line_of_offset(std::string_view text, std::size_t byte_offset) {
  const std::size_t end = std::min(byte_offset > 0 ? byte_offset - 1 : 0, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
}

std::string json_pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

}  // namespace attnscope
