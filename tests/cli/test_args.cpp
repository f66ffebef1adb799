// test_args.cpp — the command-line parser (app/cli/args.hpp) on its own: numbers at and past their bounds (int64 and
// uint64 overflow, text, exponents, signs), strict booleans, a flag never taken as another flag's value, unknown
// flags with the nearest known one, stray arguments with the reason they are probably there.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "app/cli/args.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope::app;
using attnscope::test::any_contains;

namespace {
// The error parse_integer gives for `text` in lo..hi ("" when it parses).
std::string integer_error(const std::string& text, int64_t lo, int64_t hi) {
  std::string error;
  return parse_integer(text, lo, hi, &error) ? "" : error;
}
}  // namespace

TEST_CASE("cli: parse_integer takes decimal whole numbers in range, with the text and range in every error") {
  CHECK(parse_integer("42", 1, 100, nullptr) == 42);
  CHECK(parse_integer("-7", -10, 10, nullptr) == -7);
  CHECK(parse_integer("1", 1, 100, nullptr) == 1);      // both bounds are allowed
  CHECK(parse_integer("100", 1, 100, nullptr) == 100);
  CHECK(parse_integer("9223372036854775807", Args::kIntMin, Args::kIntMax, nullptr) == Args::kIntMax);
  CHECK(parse_integer("-9223372036854775808", Args::kIntMin, Args::kIntMax, nullptr) == Args::kIntMin);

  CHECK(integer_error("0", 1, 100) == "'0' is out of range (allowed: 1..100)");
  CHECK(integer_error("101", 1, 100) == "'101' is out of range (allowed: 1..100)");
  // Past int64: reported as out of range with the text as typed, never wrapped or clamped.
  CHECK(integer_error("99999999999", 1, 1000) == "'99999999999' is out of range (allowed: 1..1000)");
  CHECK(integer_error("9223372036854775808", 1, 1000) == "'9223372036854775808' is out of range (allowed: 1..1000)");
  CHECK(integer_error("-9223372036854775809", 1, 1000) == "'-9223372036854775809' is out of range (allowed: 1..1000)");
  CHECK(integer_error("4294967360", 1, 1024) == "'4294967360' is out of range (allowed: 1..1024)");
  for (const char* not_whole : {"", "-", "+5", " 5", "5 ", "1e3", "0x10", "12x", "1.0", "1,000", "--5", "abc"})
    CHECK_MESSAGE(integer_error(not_whole, 1, 100) ==
                      std::string("'") + not_whole + "' is not a whole number (allowed: 1..100)",
                  not_whole);
}

TEST_CASE("cli: parse_unsigned covers the whole of uint64 and calls a negative number out of range") {
  const uint64_t max = ~uint64_t{0};
  CHECK(parse_unsigned("18446744073709551615", 0, max, nullptr) == max);
  CHECK(parse_unsigned("0", 0, max, nullptr) == 0u);
  std::string error;
  CHECK_FALSE(parse_unsigned("18446744073709551616", 0, max, &error));
  CHECK(error == "'18446744073709551616' is out of range (allowed: 0..18446744073709551615)");
  CHECK_FALSE(parse_unsigned("-1", 0, max, &error));
  CHECK(error == "'-1' is out of range (allowed: 0..18446744073709551615)");
  CHECK_FALSE(parse_unsigned("seven", 0, max, &error));
  CHECK(error.find("is not a whole number") != std::string::npos);
}

TEST_CASE("cli: parse_real takes finite numbers in range only") {
  CHECK(parse_real("1.5", 0, 4, nullptr) == doctest::Approx(1.5));
  CHECK(parse_real("2e-3", 0, 4, nullptr) == doctest::Approx(0.002));
  CHECK(parse_real("-0.5", -1, 1, nullptr) == doctest::Approx(-0.5));
  std::string error;
  for (const char* bad : {"inf", "-inf", "nan", "1e400", "5", "-2"}) {
    CHECK_FALSE(parse_real(bad, -1, 4, &error));
    CHECK_MESSAGE(error == std::string("'") + bad + "' is out of range (allowed: -1..4)", bad);
  }
  for (const char* bad : {"", "abc", "1.5x", "1,5", " 1"}) {
    CHECK_FALSE(parse_real(bad, -1, 4, &error));
    CHECK_MESSAGE(error == std::string("'") + bad + "' is not a number (allowed: -1..4)", bad);
  }
}

TEST_CASE("cli: parse_boolean accepts true/false/1/0/yes/no and nothing else") {
  for (const char* t : {"true", "1", "yes"}) CHECK(parse_boolean(t) == true);
  for (const char* f : {"false", "0", "no"}) CHECK(parse_boolean(f) == false);
  for (const char* other : {"", "TRUE", "on", "off", "2", "y", "maybe"}) CHECK_FALSE(parse_boolean(other).has_value());
}

TEST_CASE("cli: nearest_flag suggests a close known flag, or none") {
  const std::vector<std::string> known = {"--causal", "--out", "--reps", "--kv-heads", "--heads"};
  CHECK(nearest_flag("--caual", known) == "--causal");    // one letter missing
  CHECK(nearest_flag("--casual", known) == "--causal");   // two letters swapped
  CHECK(nearest_flag("--kvheads", known) == "--kv-heads");
  CHECK(nearest_flag("--rep", known) == "--reps");
  CHECK(nearest_flag("--cau", known) == "--causal");      // the only flag that starts with it
  CHECK(nearest_flag("-out", known) == "--out");          // one dash
  CHECK(nearest_flag("--xyzzy", known).empty());
  CHECK(nearest_flag("--", known).empty());
}

TEST_CASE("cli: a flag is never taken as another flag's value") {
  Args args({"--out", "--causal"}, {"--causal"});
  CHECK_FALSE(args.get("--out").has_value());
  CHECK(args.has("--causal"));
  const auto errors = args.errors({"--out", "--causal"});
  CHECK(any_contains(errors, "--out needs a value (found the flag --causal after it; a value starting with -- is "
                             "written --out=VALUE)"));
  // The explicit form takes any text, and a negative number after a flag is a value.
  Args explicit_value({"--out=--causal", "--n", "-5"});
  CHECK(explicit_value.get("--out") == "--causal");
  CHECK(explicit_value.get("--n") == "-5");
  CHECK(explicit_value.errors({"--out", "--n"}).empty());
  // At the end of the line.
  Args last({"--out"});
  CHECK(any_contains(last.errors({"--out"}), "--out needs a value"));
}

TEST_CASE("cli: boolean flags are strict") {
  const std::vector<std::string> booleans = {"--causal"};
  for (const char* on : {"--causal", "--causal=true", "--causal=1", "--causal=yes"}) {
    Args args({on}, booleans);
    CHECK_MESSAGE(args.has("--causal"), on);
    CHECK(args.boolean("--causal") == true);
    CHECK(args.errors({"--causal"}).empty());
  }
  for (const char* off : {"--causal=false", "--causal=0", "--causal=no"}) {
    Args args({off}, booleans);
    CHECK_FALSE_MESSAGE(args.has("--causal"), off);  // "given and false" reads as off everywhere has() is used
    CHECK(args.boolean("--causal") == false);
    CHECK(args.errors({"--causal"}).empty());
  }
  Args bad({"--causal=maybe"}, booleans);
  CHECK_FALSE(bad.has("--causal"));
  CHECK_FALSE(bad.boolean("--causal").has_value());
  CHECK(any_contains(bad.errors({"--causal"}),
                     "--causal=maybe: 'maybe' is not a boolean (write --causal, or --causal=true|false|1|0|yes|no)"));
  // "--causal false": the word is not swallowed silently; the error says how to write it.
  Args spaced({"--causal", "false"}, booleans);
  CHECK(any_contains(spaced.errors({"--causal"}),
                     "unexpected argument 'false' (--causal takes its value after '=': --causal=false)"));
}

TEST_CASE("cli: unknown flags, stray arguments and repeats are errors") {
  Args args({"--caual", "--n", "5", "--n", "6", "-r", "extra"}, {"--causal"});
  const auto errors = args.errors({"--causal", "--n", "--reps"});
  CHECK(any_contains(errors, "unknown flag --caual; did you mean --causal? (see --help)"));
  CHECK(any_contains(errors, "--n given twice"));
  CHECK(any_contains(errors, "unexpected argument '-r' (flags start with --)"));
  CHECK(any_contains(errors, "unexpected argument 'extra' (see --help)"));
  // An unknown flag is reported as unknown, not as "needs a value".
  Args unknown_last({"--bogus"});
  const auto e = unknown_last.errors({"--n"});
  CHECK(any_contains(e, "unknown flag --bogus"));
  CHECK_FALSE(any_contains(e, "needs a value"));
}

TEST_CASE("cli: typed getters record the flag, the text and the range, and return the fallback") {
  Args args({"--reps", "99999999999", "--br=4294967360", "--scale", "nan", "--kv-heads", "32,x,1", "--n", ",,",
             "--ok", "17"});
  CHECK(args.get_int("--reps", 20, 1, 1000) == 20);
  CHECK(args.get_int("--br", 64, 1, 1024) == 64);
  CHECK(args.get_real("--scale", 1.0, 0, 10) == 1.0);
  CHECK(args.get_int_list("--kv-heads", {8}, 1, 1024) == std::vector<int64_t>{8});
  CHECK(args.get_int_list("--n", {4}, 1, 10) == std::vector<int64_t>{4});
  CHECK(args.get_int("--ok", 0, 1, 20) == 17);
  CHECK(args.get_int("--absent", 3, 1, 2) == 3);  // not given: the fallback, even outside the range, and no error
  const auto errors = args.errors({"--reps", "--br", "--scale", "--kv-heads", "--n", "--ok"});
  CHECK(errors.size() == 5);
  CHECK(any_contains(errors, "--reps '99999999999' is out of range (allowed: 1..1000)"));
  CHECK(any_contains(errors, "--br '4294967360' is out of range (allowed: 1..1024)"));
  CHECK(any_contains(errors, "--scale 'nan' is out of range (allowed: 0..10)"));
  CHECK(any_contains(errors, "--kv-heads: 'x' is not a whole number (allowed: 1..1024)"));
  CHECK(any_contains(errors, "--n needs at least one value"));
}

TEST_CASE("cli: report_errors prints nothing and returns 0 without errors, 2 (usage) with any") {
  CHECK(report_errors("test", {}) == 0);
  CHECK(report_errors("test", {"--x is wrong"}) == 2);
}
