// test_experiment.cpp — ExperimentConfig: JSON round trip, flags over a config file, and error messages that
// name the bad key, flag or file.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/common/test_util.hpp"
#include "app/cli/experiment_flags.hpp"
#include "core/backend.hpp"
#include "core/experiment.hpp"

using namespace attnscope;
using attnscope::test::any_contains;
using namespace attnscope::app;

namespace {
std::string temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("attnscope_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST_CASE("ExperimentConfig JSON round trip keeps every field") {
  ExperimentConfig c;
  c.n = 777;
  c.head_dim = 96;
  c.heads = 12;
  c.kv_heads = 4;
  c.batch = 3;
  c.mask = "window:32,0+global:4+random:0.25,9,16";
  c.causal = true;
  c.generator = Generator::Gaussian;
  c.seed = 123456789012345ULL;
  c.dtype = DType::BF16;
  c.show = ScoreKind::Probabilities;
  c.scale = ColorScale::Log;
  const ConfigResult back = from_json(to_json(c), "round-trip");
  REQUIRE(back.ok);
  CHECK(back.config == c);
  CHECK_FALSE(back.config == ExperimentConfig{});
}

TEST_CASE("from_json: omitted keys keep the base, heads alone means kv_heads = heads") {
  const ConfigResult r = from_json(R"({"n": 300, "heads": 8})", "x.json");
  REQUIRE(r.ok);
  CHECK(r.config.n == 300);
  CHECK(r.config.heads == 8);
  CHECK(r.config.kv_heads == 8);
  CHECK(r.config.head_dim == ExperimentConfig{}.head_dim);
}

TEST_CASE("from_json errors name the file, the key and the problem") {
  SUBCASE("malformed") {
    const ConfigResult r = from_json("{\"n\": 12,", "bad.json");
    CHECK_FALSE(r.ok);
    CHECK(any_contains(r.errors, "bad.json:1: malformed JSON"));
  }
  SUBCASE("not an object") {
    const ConfigResult r = from_json("[1, 2]", "arr.json");
    CHECK_FALSE(r.ok);
    CHECK(any_contains(r.errors, "arr.json: expected a JSON object"));
  }
  SUBCASE("wrong types") {
    const ConfigResult r = from_json(R"({"n": "big", "causal": 1, "mask": 5, "seed": -3})", "t.json");
    CHECK_FALSE(r.ok);
    CHECK(any_contains(r.errors, "t.json:1: key \"n\": \"big\" (text) is not a whole number (allowed: 1..1048576)"));
    CHECK(any_contains(r.errors, "key \"causal\" must be true or false"));
    CHECK(any_contains(r.errors, "key \"mask\" must be a string"));
    CHECK(any_contains(r.errors, "key \"seed\": -3 is out of range (allowed: 0..18446744073709551615)"));
  }
  SUBCASE("unknown key and bad values") {
    const ConfigResult r = from_json(R"({"window": 4, "show": "q", "scale": "cubic", "generator": "noise"})", "u.json");
    CHECK_FALSE(r.ok);
    CHECK(any_contains(r.errors, "key \"window\" is not a setting"));
    CHECK(any_contains(r.errors, "'q' is not a matrix to show"));
    CHECK(any_contains(r.errors, "'cubic' is not a colour scale"));
    CHECK(any_contains(r.errors, "'noise' is not a generator"));
  }
  SUBCASE("missing file") {
    const ConfigResult r = load_config_file("/nonexistent/dir/cfg.json");
    CHECK_FALSE(r.ok);
    CHECK(any_contains(r.errors, "/nonexistent/dir/cfg.json: cannot open the config file"));
  }
}

TEST_CASE("flags override the config file; bad flags are named") {
  const std::string path = temp_file("cfg.json", R"({"n": 512, "mask": "window:8", "scale": "log"})");
  Args args({"--config", path, "--n", "2048", "--causal", "--show", "p"}, experiment_boolean_flags());
  const ConfigResult r = apply_experiment_flags(args);
  REQUIRE(r.ok);
  CHECK(r.config.n == 2048);
  CHECK(r.config.mask == "window:8");
  CHECK(r.config.scale == ColorScale::Log);
  CHECK(r.config.causal);
  CHECK(r.config.show == ScoreKind::Probabilities);
  std::filesystem::remove(path);

  Args bad({"--n", "12x", "--generator", "zeros", "--seed", "-1"}, experiment_boolean_flags());
  const ConfigResult e = apply_experiment_flags(bad);
  CHECK_FALSE(e.ok);
  CHECK(any_contains(e.errors, "--n '12x' is not a whole number (allowed: 1..1048576)"));
  CHECK(any_contains(e.errors, "--generator 'zeros' is not a generator"));
  CHECK(any_contains(e.errors, "--seed '-1' is out of range (allowed: 0..18446744073709551615)"));
}

TEST_CASE("to_spec builds the spec, applies causal on top and reports every problem") {
  ExperimentConfig c;
  c.n = 300;
  c.mask = "window:16+global:2";
  c.causal = true;
  SpecResult ok = to_spec(c, SpecLimits{});
  REQUIRE(ok.ok);
  CHECK(ok.spec.kv_len == 300);
  CHECK(ok.spec.q_len == 300);
  CHECK(ok.spec.mask.causal);
  CHECK(ok.spec.mask.terms.size() == 2);
  const MaskView view = ok.spec.mask.view();
  CHECK_FALSE(view.allowed(10, 11));  // causal on top of the window
  CHECK(view.allowed(100, 1));        // global column

  c.n = 0;
  c.head_dim = 0;
  c.mask = "window:abc";
  SpecResult bad = to_spec(c, SpecLimits{});
  CHECK_FALSE(bad.ok);
  CHECK(any_contains(bad.errors, "mask 'window:abc'"));
  CHECK(any_contains(bad.errors, "head dim 0"));
  CHECK(any_contains(bad.errors, "sequence length N 0"));

  // One head's S would need 40 GB: the experiment stands (the picture and the tile-by-tile algorithms run at this
  // N); only an algorithm that materialises S is refused, by name of the size it would need.
  c = ExperimentConfig{};
  c.n = 100000;
  SpecResult huge = to_spec(c, SpecLimits{});
  CHECK(huge.ok);
  CHECK(any_contains(validate(huge.spec, SpecLimits{}, materialises_scores(Algorithm::Naive)), "N = 100000 needs"));
  CHECK(validate(huge.spec, SpecLimits{}, materialises_scores(Algorithm::Flash)).empty());
  CHECK(validate(huge.spec, SpecLimits{}, materialises_scores(Algorithm::BlockSparse)).empty());
}
