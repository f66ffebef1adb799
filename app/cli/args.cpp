// args.cpp — see args.hpp.
#include "app/cli/args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace attnscope::app {

namespace {

std::string quoted(std::string_view text) {
  std::string out;  // appended piece by piece: GCC 12 misreports "'" + std::string(...) as an overlapping copy
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

template <typename T>
std::string range_text(T lo, T hi) {
  if constexpr (std::is_signed_v<T>)
    if (lo == std::numeric_limits<T>::min() && hi == std::numeric_limits<T>::max()) return "a 64-bit whole number";
  return std::to_string(lo) + ".." + std::to_string(hi);
}

std::string real_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Whole numbers of type T: digits only (a leading '-' for signed types); from_chars reports overflow of T.
template <typename T>
std::optional<T> parse_whole(std::string_view text, T lo, T hi, std::string* error) {
  T v{};
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  const bool digits_only =
      !text.empty() && std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      }) && text != "-";
  if (!digits_only || (ec != std::errc() && ec != std::errc::result_out_of_range) || p != end) {
    if (error) *error = quoted(text) + " is not a whole number (allowed: " + range_text(lo, hi) + ")";
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    if (error) *error = quoted(text) + " is out of range (allowed: " + range_text(lo, hi) + ")";
    return std::nullopt;
  }
  return v;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool is_flag(const std::string& a) { return a.size() > 2 && a.rfind("--", 0) == 0; }

// "-5", "-0.5": a negative number, not a single-dash flag.
bool looks_numeric(const std::string& a) {
  return a.size() > 1 && a[0] == '-' && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.');
}

}  // namespace

std::optional<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi, std::string* error) {
  return parse_whole<int64_t>(text, lo, hi, error);
}

std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string* error) {
  if (!text.empty() && text[0] == '-') {  // from_chars would reject it as "not a number"; say what it is
    if (parse_whole<int64_t>(text, Args::kIntMin, Args::kIntMax, nullptr)) {
      if (error) *error = quoted(text) + " is out of range (allowed: " + range_text(lo, hi) + ")";
      return std::nullopt;
    }
  }
  return parse_whole<uint64_t>(text, lo, hi, error);
}

std::optional<double> parse_real(std::string_view text, double lo, double hi, std::string* error) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  const std::string allowed = "(allowed: " + real_text(lo) + ".." + real_text(hi) + ")";
  if (text.empty() || ec == std::errc::invalid_argument || p != end) {
    if (error) *error = quoted(text) + " is not a number " + allowed;
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || !std::isfinite(v) || v < lo || v > hi) {
    if (error) *error = quoted(text) + " is out of range " + allowed;
    return std::nullopt;
  }
  return v;
}

std::optional<bool> parse_boolean(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  return std::nullopt;
}

std::string nearest_flag(const std::string& flag, const std::vector<std::string>& known) {
  const std::string_view name = std::string_view(flag).substr(flag.rfind("--", 0) == 0 ? 2 : flag.rfind('-', 0) == 0);
  if (name.empty()) return "";
  const size_t allowed = name.size() <= 4 ? 1 : 2;
  std::string best;
  size_t best_distance = allowed + 1;
  std::vector<std::string> prefixed;
  for (const auto& k : known) {
    const std::string_view candidate = std::string_view(k).substr(k.rfind("--", 0) == 0 ? 2 : 0);
    const size_t d = edit_distance(name, candidate);
    if (d < best_distance) best_distance = d, best = k;
    if (name.size() >= 2 && candidate.rfind(name, 0) == 0) prefixed.push_back(k);
  }
  if (!best.empty()) return best;
  return prefixed.size() == 1 ? prefixed.front() : "";
}

Args::Args(std::vector<std::string> argv, std::vector<std::string> boolean_flags) {
  auto is_boolean = [&](const std::string& name) {
    return std::find(boolean_flags.begin(), boolean_flags.end(), name) != boolean_flags.end();
  };
  std::string previous_boolean;  // the boolean flag just before, given bare (for "--causal false")
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!is_flag(a) || a.rfind("--=", 0) == 0) {
      std::string hint;
      if (!previous_boolean.empty() && parse_boolean(a))
        hint = previous_boolean + " takes its value after '=': " + previous_boolean + "=" + a;
      else if (a.size() > 1 && a[0] == '-' && a != "--" && !looks_numeric(a))
        hint = "flags start with --";
      positional_.push_back(a);
      positional_hints_.push_back(hint);
      previous_boolean.clear();
      continue;
    }
    previous_boolean.clear();
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (values_.count(name)) errors_.push_back(name + " given twice");
    if (is_boolean(name)) {
      if (!has_value) {
        booleans_[name] = true;
        value = "true";
        previous_boolean = name;
      } else if (auto b = parse_boolean(value)) {
        booleans_[name] = *b;
      } else {
        errors_.push_back(name + "=" + value + ": " + quoted(value) +
                          " is not a boolean (write " + name + ", or " + name + "=true|false|1|0|yes|no)");
        order_.push_back(name);
        continue;
      }
    } else if (!has_value) {
      if (i + 1 >= argv.size()) {
        missing_values_[name] = name + " needs a value";
        order_.push_back(name);
        continue;
      }
      if (is_flag(argv[i + 1])) {  // "--out --causal": never take a flag as the value
        missing_values_[name] = name + " needs a value (found the flag " + argv[i + 1] +
                                " after it; a value starting with -- is written " + name + "=VALUE)";
        order_.push_back(name);
        continue;
      }
      value = argv[++i];
    }
    values_[name] = value;
    order_.push_back(name);
  }
}

bool Args::has(const std::string& flag) const {
  if (auto b = booleans_.find(flag); b != booleans_.end()) return b->second;
  return values_.count(flag) != 0;
}

std::optional<bool> Args::boolean(const std::string& flag) const {
  if (auto b = booleans_.find(flag); b != booleans_.end()) return b->second;
  return std::nullopt;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  return get(flag).value_or(fallback);
}

int64_t Args::get_int(const std::string& flag, int64_t fallback, int64_t lo, int64_t hi) {
  auto s = get(flag);
  if (!s) return fallback;
  std::string error;
  if (auto v = parse_integer(*s, lo, hi, &error)) return *v;
  errors_.push_back(flag + " " + error);
  return fallback;
}

double Args::get_real(const std::string& flag, double fallback, double lo, double hi) {
  auto s = get(flag);
  if (!s) return fallback;
  std::string error;
  if (auto v = parse_real(*s, lo, hi, &error)) return *v;
  errors_.push_back(flag + " " + error);
  return fallback;
}

std::vector<std::string> Args::get_list(const std::string& flag) const {
  std::vector<std::string> out;
  auto s = get(flag);
  if (!s) return out;
  size_t start = 0;
  for (size_t i = 0; i <= s->size(); ++i)
    if (i == s->size() || (*s)[i] == ',') {
      if (i > start) out.push_back(s->substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::vector<int64_t> Args::get_int_list(const std::string& flag, std::vector<int64_t> fallback, int64_t lo,
                                        int64_t hi) {
  if (!get(flag)) return fallback;
  std::vector<int64_t> out;
  for (auto& item : get_list(flag)) {
    std::string error;
    if (auto v = parse_integer(item, lo, hi, &error)) {
      out.push_back(*v);
    } else {
      errors_.push_back(flag + ": " + error);
      return fallback;
    }
  }
  if (out.empty()) {
    errors_.push_back(flag + " needs at least one value");
    return fallback;
  }
  return out;
}

std::vector<std::string> Args::errors(const std::vector<std::string>& known) const {
  auto out = errors_;
  for (auto& name : order_) {
    const bool is_known = std::find(known.begin(), known.end(), name) != known.end();
    if (auto m = missing_values_.find(name); m != missing_values_.end() && is_known) out.push_back(m->second);
    if (!is_known) {
      const std::string near = nearest_flag(name, known);
      out.push_back("unknown flag " + name + (near.empty() ? "" : "; did you mean " + near + "?") + " (see --help)");
    }
  }
  for (size_t i = 0; i < positional_.size(); ++i) {
    const std::string& p = positional_[i];
    std::string message = "unexpected argument " + quoted(p);
    if (!positional_hints_[i].empty()) message += " (" + positional_hints_[i] + ")";
    if (positional_hints_[i] == "flags start with --")
      if (const std::string near = nearest_flag(p, known); !near.empty()) message += "; did you mean " + near + "?";
    out.push_back(message + " (see --help)");
  }
  return out;
}

int report_errors(const std::string& command, const std::vector<std::string>& errors) {
  for (auto& e : errors) std::cerr << "attnscope " << command << ": " << e << "\n";
  return errors.empty() ? 0 : 2;
}

}  // namespace attnscope::app
