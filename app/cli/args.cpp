// args.cpp — see args.hpp.
#include "app/cli/args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>

namespace attnscope::app {

Args::Args(std::vector<std::string> argv, std::vector<std::string> boolean_flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    const bool is_boolean = std::find(boolean_flags.begin(), boolean_flags.end(), name) != boolean_flags.end();
    if (!has_value && !is_boolean) {
      if (i + 1 >= argv.size()) {
        errors_.push_back(name + " needs a value");
        continue;
      }
      value = argv[++i];
    }
    if (values_.count(name)) errors_.push_back(name + " given twice");
    values_[name] = is_boolean && !has_value ? "1" : value;
    order_.push_back(name);
  }
}

bool Args::has(const std::string& flag) const { return values_.count(flag) != 0; }

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  return get(flag).value_or(fallback);
}

int64_t Args::get_int(const std::string& flag, int64_t fallback) {
  auto s = get(flag);
  if (!s) return fallback;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) {
    errors_.push_back(flag + " '" + *s + "' is not an integer");
    return fallback;
  }
  return v;
}

double Args::get_real(const std::string& flag, double fallback) {
  auto s = get(flag);
  if (!s) return fallback;
  double v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
    errors_.push_back(flag + " '" + *s + "' is not a number");
    return fallback;
  }
  return v;
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

std::vector<int64_t> Args::get_int_list(const std::string& flag, std::vector<int64_t> fallback) {
  if (!has(flag)) return fallback;
  std::vector<int64_t> out;
  for (auto& item : get_list(flag)) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size()) {
      errors_.push_back(flag + ": '" + item + "' is not an integer");
      return fallback;
    }
    out.push_back(v);
  }
  if (out.empty()) errors_.push_back(flag + " needs at least one value");
  return out;
}

std::vector<std::string> Args::errors(const std::vector<std::string>& known) const {
  auto out = errors_;
  for (auto& name : order_)
    if (std::find(known.begin(), known.end(), name) == known.end())
      out.push_back("unknown flag " + name + " (see --help)");
  for (auto& p : positional_) out.push_back("unexpected argument '" + p + "' (see --help)");
  return out;
}

int report_errors(const std::string& command, const std::vector<std::string>& errors) {
  for (auto& e : errors) std::cerr << "attnscope " << command << ": " << e << "\n";
  return errors.empty() ? 0 : 2;
}

}  // namespace attnscope::app
