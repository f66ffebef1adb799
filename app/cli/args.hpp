// args.hpp — the one command-line parser of every `attnscope` command: "--name value", "--name=value" and
// boolean "--flag" / "--flag=true|false|1|0|yes|no".
//
// Rules (each broken rule is an error that quotes what the user typed; commands exit 2 on any of them):
//   - a flag that takes a value never takes the next argument when that argument is itself a flag ("--out --causal"
//     is "--out needs a value"); a value that starts with "--" is written "--out=--name";
//   - a boolean flag is true when given bare, else its value must be one of true/false/1/0/yes/no;
//   - integers are parsed with overflow checks into the range the command uses them in, reals must be finite and in
//     range; the message quotes the text and the allowed range;
//   - a flag given twice, an unknown flag (with the nearest known flag when one is close) and a stray argument are
//     errors.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope::app {

// "42" -> 42 when lo <= 42 <= hi. Decimal digits with an optional leading '-' only (no '+', spaces, 1e3 or 0x);
// otherwise nullopt and `error` = "'TEXT' is not a whole number (allowed: LO..HI)" or "... is out of range ...".
std::optional<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi, std::string* error);
// The same for an unsigned 64-bit value in lo..hi (seeds use the whole of 0..2^64-1).
std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string* error);
// A finite real in [lo, hi] ("1.5", "2e-3"; not "inf", "nan", "1e400").
std::optional<double> parse_real(std::string_view text, double lo, double hi, std::string* error);
// true/false/1/0/yes/no (case-sensitive, as typed in scripts); nullopt for anything else.
std::optional<bool> parse_boolean(std::string_view text);
// The known flag closest to `flag` by edit distance (at most 1 edit for short names, 2 for longer ones) or the only
// known flag that starts with it; "" when none is close.
std::string nearest_flag(const std::string& flag, const std::vector<std::string>& known);

class Args {
 public:
  static constexpr int64_t kIntMin = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();

  // argv after the command name. Flags listed in `boolean_flags` take no separate value.
  Args(std::vector<std::string> argv, std::vector<std::string> boolean_flags = {});

  // Whether the flag was given; for a boolean flag, whether it was given and is true ("--sidecar=false" reads as
  // not given), so `if (args.has("--causal"))` means what it says.
  bool has(const std::string& flag) const;
  // A boolean flag's value: nullopt when not given (or given a value that is not a boolean: that is an error).
  std::optional<bool> boolean(const std::string& flag) const;
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  // Typed values in [lo, hi]; on a bad value records an error quoting the text and the range, returns the fallback.
  int64_t get_int(const std::string& flag, int64_t fallback, int64_t lo = kIntMin, int64_t hi = kIntMax);
  double get_real(const std::string& flag, double fallback, double lo = -std::numeric_limits<double>::max(),
                  double hi = std::numeric_limits<double>::max());
  std::vector<std::string> get_list(const std::string& flag) const;  // comma-separated, empty items dropped
  std::vector<int64_t> get_int_list(const std::string& flag, std::vector<int64_t> fallback, int64_t lo = kIntMin,
                                    int64_t hi = kIntMax);

  // Errors so far, plus one per flag not in `known` (call after reading every flag) and one per stray argument.
  std::vector<std::string> errors(const std::vector<std::string>& known) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> booleans_;      // boolean flags given with a valid value
  std::vector<std::string> order_;            // flag names in the order given
  std::vector<std::string> positional_;
  std::vector<std::string> positional_hints_; // per positional: why it is probably there ("" when no idea)
  std::vector<std::string> errors_;
  std::map<std::string, std::string> missing_values_;  // "--out needs a value": reported for known flags only
};

// Prints each error as "attnscope <command>: <error>" to stderr; returns 2 (usage error) when there were any, else 0.
int report_errors(const std::string& command, const std::vector<std::string>& errors);

}  // namespace attnscope::app
