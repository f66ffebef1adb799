// args.hpp — a small command-line parser: "--name value", "--name=value" and boolean "--flag".
// Every command declares the flags it knows; an unknown flag or a bad value is an error that names it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnscope::app {

class Args {
 public:
  // argv after the command name. Flags listed in `boolean_flags` take no value.
  Args(std::vector<std::string> argv, std::vector<std::string> boolean_flags = {});

  bool has(const std::string& flag) const;
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  // Integer / real / list values; on a bad value records an error and returns the fallback.
  int64_t get_int(const std::string& flag, int64_t fallback);
  double get_real(const std::string& flag, double fallback);
  std::vector<std::string> get_list(const std::string& flag) const;  // comma-separated
  std::vector<int64_t> get_int_list(const std::string& flag, std::vector<int64_t> fallback);

  // Errors so far, plus one per flag not in `known` (call after reading every flag).
  std::vector<std::string> errors(const std::vector<std::string>& known) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
  std::vector<std::string> errors_;
};

// Prints each error as "attnscope <command>: <error>" to stderr; returns 2 when there were any, else 0.
int report_errors(const std::string& command, const std::vector<std::string>& errors);

}  // namespace attnscope::app
