// test_config_numbers.cpp — the numbers of a `--config FILE` and of the experiment flags (core/experiment.hpp,
// app/cli/experiment_flags.hpp): every value outside its key's range — too large for a double, past 2^64, negative,
// fractional, text, null — is an error naming the file, line, key, value and range; the file is read bounded.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "app/cli/experiment_flags.hpp"
#include "core/experiment.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope;
using namespace attnscope::app;
using attnscope::test::any_contains;

namespace {
// The errors of a config text holding `"key": value` only.
std::vector<std::string> errors_for(const std::string& key, const std::string& value) {
  const ConfigResult r = from_json("{\"" + key + "\": " + value + "}", "cfg.json");
  CHECK_FALSE(r.ok);
  CHECK(r.config == ExperimentConfig{});  // nothing half-applied
  return r.errors;
}
}  // namespace

TEST_CASE("cli: config integers out of range are named with file, line, key, value and range") {
  const std::string n_range = "(allowed: 1..1048576)";
  struct Case {
    const char* value;
    std::string message;
  };
  const Case cases[] = {
      {"1e400", "cfg.json:1: key \"n\": 1e400 is out of range " + n_range},  // too large for a double: no throw
      {"18446744073709551615", "cfg.json:1: key \"n\": 18446744073709551615 is out of range " + n_range},
      {"18446744073709551616", "key \"n\": 1.8446744073709552e+19 is out of range " + n_range},
      {"9223372036854775808", "key \"n\": 9223372036854775808 is out of range " + n_range},
      {"-1", "cfg.json:1: key \"n\": -1 is out of range " + n_range},
      {"0", "cfg.json:1: key \"n\": 0 is out of range " + n_range},
      {"1048577", "cfg.json:1: key \"n\": 1048577 is out of range " + n_range},
      {"1.5", "cfg.json:1: key \"n\": 1.5 is not a whole number " + n_range},
      {"1024.0", "cfg.json:1: key \"n\": 1024.0 is not a whole number " + n_range},
      {"\"8\"", "cfg.json:1: key \"n\": \"8\" (text) is not a whole number " + n_range},
      {"null", "cfg.json:1: key \"n\": null is not a whole number " + n_range},
      {"true", "cfg.json:1: key \"n\": true is not a whole number " + n_range},
      {"[8]", "cfg.json:1: key \"n\": [8] is not a whole number " + n_range},
  };
  for (const Case& c : cases) CHECK_MESSAGE(any_contains(errors_for("n", c.value), c.message), c.value);

  CHECK(any_contains(errors_for("head_dim", "300"), "key \"head_dim\": 300 is out of range (allowed: 1..256)"));
  CHECK(any_contains(errors_for("heads", "5000"), "key \"heads\": 5000 is out of range (allowed: 1..4096)"));
  CHECK(any_contains(errors_for("kv_heads", "-2"), "key \"kv_heads\": -2 is out of range (allowed: 1..4096)"));
  CHECK(any_contains(errors_for("batch", "65537"), "key \"batch\": 65537 is out of range (allowed: 1..65536)"));
  CHECK(any_contains(errors_for("batch", "-1e400"), "key \"batch\": -1e400 is out of range (allowed: 1..65536)"));
}

TEST_CASE("cli: config seed takes all of 0..2^64-1 and nothing else") {
  const ConfigResult top = from_json(R"({"seed": 18446744073709551615})", "s.json");
  REQUIRE(top.ok);
  CHECK(top.config.seed == ~uint64_t{0});
  const std::string range = "(allowed: 0..18446744073709551615)";
  CHECK(any_contains(errors_for("seed", "-1"), "key \"seed\": -1 is out of range " + range));
  CHECK(any_contains(errors_for("seed", "18446744073709551616"), "is out of range " + range));
  CHECK(any_contains(errors_for("seed", "2.5"), "key \"seed\": 2.5 is not a whole number " + range));
  CHECK(any_contains(errors_for("seed", "1e400"), "key \"seed\": 1e400 is out of range " + range));
}

TEST_CASE("cli: config keys given twice and the line of a bad value") {
  const ConfigResult twice = from_json("{\"n\": 64,\n \"n\": 128}", "twice.json");
  CHECK_FALSE(twice.ok);
  CHECK(any_contains(twice.errors, "twice.json:2: key \"n\" is given twice (first on line 1); keep one"));
  const ConfigResult third_line = from_json("{\n  \"mask\": \"dense\",\n  \"batch\": 0\n}", "lines.json");
  CHECK(any_contains(third_line.errors, "lines.json:3: key \"batch\": 0 is out of range (allowed: 1..65536)"));
  const ConfigResult in_range = from_json(R"({"n": 1048576, "head_dim": 256, "heads": 4096, "kv_heads": 1})", "ok.json");
  REQUIRE(in_range.ok);  // the upper bounds themselves are allowed
  CHECK(in_range.config.n == 1048576);
}

TEST_CASE("cli: config files are read bounded: folders, large files and endless devices are refused by name") {
  const auto dir = test::fresh_dir("config_bounds");
  const ConfigResult folder = load_config_file(dir.string());
  CHECK(any_contains(folder.errors, dir.string() + ": is a folder; give a config file"));

  const auto big = dir / "big.json";
  {
    std::ofstream f(big);
    f << "{\"mask\": \"" << std::string(kMaxConfigBytes, ' ') << "\"}";
  }
  const std::uintmax_t size = std::filesystem::file_size(big);
  const ConfigResult large = load_config_file(big.string());
  CHECK(any_contains(large.errors, big.string() + ": " + std::to_string(size) + " bytes (1.0 MiB); a config file is "
                                   "at most 1 MiB"));

  if (std::filesystem::exists("/dev/zero")) {  // no size to check first: the read stops past the limit
    const ConfigResult endless = load_config_file("/dev/zero");
    CHECK(any_contains(endless.errors, "/dev/zero: more than 1 MiB (read stopped there); a config file is at most 1 MiB"));
  }
  const ConfigResult missing = load_config_file((dir / "absent.json").string());
  CHECK(any_contains(missing.errors, "absent.json: cannot open the config file (missing or unreadable)"));

  const auto good = dir / "good.json";
  std::ofstream(good) << R"({"n": 256, "causal": true})";
  const ConfigResult read = load_config_file(good.string());
  REQUIRE(read.ok);
  CHECK(read.config.n == 256);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: experiment flags: ranges, full-width seeds and --causal=false over a config's causal") {
  const auto dir = test::fresh_dir("config_flags");
  const auto path = (dir / "causal.json").string();
  std::ofstream(path) << R"({"causal": true, "n": 512})";

  Args off({"--config", path, "--causal=false"}, experiment_boolean_flags());
  const ConfigResult r_off = apply_experiment_flags(off);
  REQUIRE(r_off.ok);
  CHECK_FALSE(r_off.config.causal);  // the flag turns the file's causal off
  CHECK(r_off.config.n == 512);

  Args on({"--causal=yes"}, experiment_boolean_flags());
  CHECK(apply_experiment_flags(on).config.causal);
  Args untouched({"--config", path}, experiment_boolean_flags());
  CHECK(apply_experiment_flags(untouched).config.causal);  // not given: the file's value stands

  Args seed({"--seed", "18446744073709551615"}, experiment_boolean_flags());
  const ConfigResult r_seed = apply_experiment_flags(seed);
  REQUIRE(r_seed.ok);
  CHECK(r_seed.config.seed == ~uint64_t{0});

  Args bad({"--n", "18446744073709551615", "--d", "0", "--heads", "1e3", "--batch", "65537", "--kv-heads", "-1"},
           experiment_boolean_flags());
  const ConfigResult r_bad = apply_experiment_flags(bad);
  CHECK_FALSE(r_bad.ok);
  CHECK(any_contains(r_bad.errors, "--n '18446744073709551615' is out of range (allowed: 1..1048576)"));
  CHECK(any_contains(r_bad.errors, "--d '0' is out of range (allowed: 1..256)"));
  CHECK(any_contains(r_bad.errors, "--heads '1e3' is not a whole number (allowed: 1..4096)"));
  CHECK(any_contains(r_bad.errors, "--batch '65537' is out of range (allowed: 1..65536)"));
  CHECK(any_contains(r_bad.errors, "--kv-heads '-1' is out of range (allowed: 1..4096)"));
  CHECK(r_bad.errors.size() == 5);
  std::filesystem::remove_all(dir);
}
