// test_cli_bench_beyond.cpp — `attnscope bench --algo linear-attention,selective-scan` (issue 20) run as a binary
// on the CPU backend at small sizes: rows and verdicts printed, the JSON parsed back (rows, copy bandwidth, targets,
// the scan's ratio to copy = its GB/s / the copy's), an out-of-memory row beside rows that ran, usage errors (exit
// 2, the flag named, nothing written); and the crossover rule (bench_beyond.hpp) on made-up rows.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/bench_beyond.hpp"
#include "tests/common/test_util.hpp"

namespace {

using attnscope::app::Crossover;
using attnscope::app::CrossoverPoint;
using attnscope::app::find_crossover;

attnscope::test::CommandResult bench_in(const std::filesystem::path& dir, const std::string& args) {
  const auto r = attnscope::test::run_command("cd '" + dir.string() + "' && timeout 120 '" +
                                              std::string(ATTNSCOPE_BINARY) + "' bench " + args);
  REQUIRE(r.started);
  return r;
}

const std::string kSmall =
    "--n 64,200 --batch 1 --heads 2 --kv-heads 1 --d 16 --channels 8 --state 4 --reps 2 --warmup 0 ";

}  // namespace

TEST_CASE("cli bench beyond: linear attention and the scan on the CPU, table, verdicts and JSON") {
  const auto dir = attnscope::test::fresh_dir("cli_bench_beyond");
  const auto r = bench_in(dir, "--algo linear-attention,selective-scan " + kSmall + "--json out.json");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("copy bandwidth (measured now") != std::string::npos);
  CHECK(r.output.find("baseline flash on the same shape") != std::string::npos);  // no tensor cores on the CPU
  CHECK(r.output.find("selective scan at N=200: ") != std::string::npos);
  CHECK(r.output.find("(target >= 70%): ") != std::string::npos);
  CHECK(r.output.find("N=16384 not in --n") != std::string::npos);
  CHECK(r.output.find("crossover (linear becomes faster than flash") != std::string::npos);

  std::ifstream file(dir / "out.json");
  REQUIRE(file.good());
  const nlohmann::json j = nlohmann::json::parse(file);
  CHECK(j["backend"] == "cpu");
  CHECK(j["config"]["kv_heads"] == 1);
  CHECK(j["config"]["baseline"] == "flash");
  REQUIRE(j["copy"]["ok"] == true);
  const double copy = j["copy"]["bytes_per_s"].get<double>();
  CHECK(copy > 0);
  REQUIRE(j["rows"].size() == 4);
  int linear_rows = 0, scan_rows = 0;
  for (const auto& row : j["rows"]) {
    INFO(row.dump());
    REQUIRE(row["ok"] == true);
    CHECK((row["n"] == 64 || row["n"] == 200));
    CHECK(row["median_ms"].get<double>() > 0);
    CHECK(row["min_ms"].get<double>() <= row["median_ms"].get<double>());
    CHECK(row["max_ms"].get<double>() >= row["median_ms"].get<double>());
    CHECK(row["samples_ms"].size() == 2);
    CHECK(row["bytes_moved"].get<double>() > 0);
    CHECK(row["flops"].get<double>() > 0);
    const double gbs = row["gb_per_s"].get<double>();
    CHECK(gbs == doctest::Approx(row["bytes_moved"].get<double>() / (row["median_ms"].get<double>() * 1e-3) * 1e-9));
    if (row["algorithm"] == "linear-attention") {
      ++linear_rows;
      REQUIRE(row["baseline"]["ok"] == true);
      CHECK(row["baseline"]["algorithm"] == "flash");
      const double base_ms = row["baseline"]["median_ms"].get<double>();
      CHECK(base_ms > 0);
      CHECK(row["speedup"].get<double>() == doctest::Approx(base_ms / row["median_ms"].get<double>()));
    } else {
      ++scan_rows;
      CHECK(row["algorithm"] == "selective-scan");
      // The ratio to copy is the row's own bandwidth over the copy measured in this run.
      CHECK(row["copy_fraction"].get<double>() == doctest::Approx(gbs * 1e9 / copy).epsilon(1e-9));
      CHECK(!row.contains("baseline"));
    }
  }
  CHECK(linear_rows == 2);
  CHECK(scan_rows == 2);
  const auto& scan = j["targets"]["selective_scan"];
  CHECK(scan["n"] == 200);
  CHECK(scan["target_fraction"].get<double>() == doctest::Approx(0.70));
  CHECK(scan["verdict"] == (scan["copy_fraction"].get<double>() >= 0.70 ? "met" : "missed"));
  const auto& linear = j["targets"]["linear_attention"];
  CHECK(linear["verdict"] == "not measured");
  CHECK(linear["target_n"] == 16384);
  CHECK(linear["crossover"].contains("kind"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli bench beyond: a scan too big for memory is a row that says so; the other rows still run") {
  const auto dir = attnscope::test::fresh_dir("cli_bench_beyond_oom");
  // N = 2^24 at 65536 channels is terabytes of inputs; N = 64 is a few megabytes.
  const auto r = bench_in(dir, "--algo selective-scan --n 64,16777216 --batch 1 --channels 65536 --state 4 "
                               "--reps 1 --warmup 0 --json out.json");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("out of memory") != std::string::npos);
  CHECK(r.output.find("selective scan at N=64: ") != std::string::npos);  // the longest N that ran
  std::ifstream file(dir / "out.json");
  REQUIRE(file.good());
  const nlohmann::json j = nlohmann::json::parse(file);
  REQUIRE(j["rows"].size() == 2);
  CHECK(j["rows"][0]["ok"] == true);
  CHECK(j["rows"][1]["ok"] == false);
  CHECK(j["rows"][1]["error"].get<std::string>().find("out of memory") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli bench beyond: --baseline none leaves the flash column out; the target says it was not measured") {
  const auto dir = attnscope::test::fresh_dir("cli_bench_beyond_nobase");
  const auto r = bench_in(dir, "--algo linear-attention --n 16384 --batch 1 --heads 1 --d 8 --reps 1 --warmup 0 "
                               "--baseline none --causal=false");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("non-causal") != std::string::npos);
  CHECK(r.output.find("target not measured (--baseline none)") != std::string::npos);
  CHECK(r.output.find("copy bandwidth") == std::string::npos);  // measured only for the scan
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli bench beyond: bad flags are usage errors naming the flag; nothing run, nothing written") {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {
           Case{"--algo linear-attention,flash --n 64", "cannot be mixed with attention algorithms (flash)"},
           Case{"--algo selective-scan --state 0", "--state '0' is out of range (allowed: 1..256)"},
           Case{"--algo selective-scan --channels 1000000", "--channels '1000000' is out of range (allowed: 1..65536)"},
           Case{"--algo linear-attention --chunk 0", "--chunk '0' is out of range (allowed: 1..65536)"},
           Case{"--algo selective-scan --dtype fp16", "--dtype fp16: the selective scan stores fp32"},
           Case{"--algo linear-attention --heads 3 --kv-heads 2", "--heads 3 must be a multiple of --kv-heads 2"},
           Case{"--algo linear-attention --baseline fast", "--baseline 'fast': choose auto"},
           Case{"--algo linear-attention --mask window:8", "--mask applies to the attention algorithms"},
           Case{"--algo selective-scan --stat 4", "unknown flag --stat; did you mean --state?"},
       }) {
    const auto dir = attnscope::test::fresh_dir("cli_bench_beyond_bad");
    const auto r = bench_in(dir, std::string(c.args) + " --json out.json");
    INFO(c.args << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(r.output.find("median ms") == std::string::npos);
    CHECK(attnscope::test::entries(dir) == 0);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("cli bench beyond: --json to a folder that does not exist fails naming the path") {
  const auto dir = attnscope::test::fresh_dir("cli_bench_beyond_json");
  const auto r = bench_in(dir, "--algo selective-scan --n 64 --batch 1 --channels 4 --state 2 --reps 1 "
                               "--json missing/out.json");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("missing/out.json") != std::string::npos);
  CHECK(attnscope::test::entries(dir) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bench crossover: interpolated on log N between the bracketing points") {
  // Slower by 2x at 1024, faster by 2x at 4096: g = ±ln 2, so the crossing is halfway in log N: 2048.
  const Crossover c = find_crossover({{4096, 5, 10}, {1024, 10, 5}});  // any order
  CHECK(c.kind == Crossover::Kind::Between);
  CHECK(c.n == doctest::Approx(2048));
  CHECK(c.below == 1024);
  CHECK(c.above == 4096);
  CHECK(c.words().find("2048 (between 1024 and 4096)") != std::string::npos);
  // Unequal sides: g₀ = ln 3, g₁ = -ln 1.5 → ln N = ln 1024 + ln3/(ln3 + ln1.5)·ln 4.
  const Crossover d = find_crossover({{1024, 3, 1}, {4096, 1, 1.5}, {16384, 1, 4}});
  CHECK(d.kind == Crossover::Kind::Between);
  CHECK(d.n == doctest::Approx(std::exp(std::log(1024.0) + std::log(3.0) / (std::log(3.0) + std::log(1.5)) *
                                                               std::log(4.0))));
}

TEST_CASE("bench crossover: exact hit, none in range, below range, a crossing that does not hold, missing points") {
  const Crossover exact = find_crossover({{1024, 2, 1}, {2048, 3, 3}, {4096, 1, 2}});
  CHECK(exact.kind == Crossover::Kind::Exact);
  CHECK(exact.n == 2048);
  CHECK(exact.words() == "N = 2048");

  const Crossover never = find_crossover({{1024, 2, 1}, {2048, 3, 2}, {4096, 5, 4}});
  CHECK(never.kind == Crossover::Kind::NoneInRange);
  CHECK(never.words() == "none in range");
  CHECK(find_crossover({}).kind == Crossover::Kind::NoneInRange);

  const Crossover below = find_crossover({{1024, 1, 2}, {2048, 1, 3}});
  CHECK(below.kind == Crossover::Kind::BelowRange);
  CHECK(below.n == 1024);

  // Faster at 2048, slower again at 4096, faster from 8192: the crossing that holds is between 4096 and 8192.
  const Crossover last = find_crossover({{1024, 2, 1}, {2048, 1, 2}, {4096, 2, 1}, {8192, 1, 2}});
  CHECK(last.kind == Crossover::Kind::Between);
  CHECK(last.below == 4096);
  CHECK(last.above == 8192);
  CHECK(last.n == doctest::Approx(std::sqrt(4096.0 * 8192.0)));

  // A point where the baseline did not run (0 ms) is skipped, not read as infinitely slow.
  const Crossover skipped = find_crossover({{1024, 2, 1}, {2048, 1, 0}, {4096, 1, 2}});
  CHECK(skipped.kind == Crossover::Kind::Between);
  CHECK(skipped.n == doctest::Approx(2048));
}

TEST_CASE("bench percentages: rounded toward zero so a miss never prints as the target") {
  CHECK(attnscope::app::percent_toward_zero(0.69996) == "69.9%");
  CHECK(attnscope::app::percent_toward_zero(0.7312) == "73.1%");
  CHECK(attnscope::app::percent_toward_zero(0.011) == "1.1%");
}

TEST_CASE("cli bench beyond: bench --help documents both kernels, their flags and targets") {
  std::string command = "'";
  command += ATTNSCOPE_BINARY;
  command += "' bench --help";
  const auto r = attnscope::test::run_command(command);
  REQUIRE(r.started);
  CHECK(r.status == 0);
  for (const char* words : {"linear-attention", "selective-scan", "--channels D", "--state S", "--chunk C",
                            "--baseline auto|flash|flash-tc|none", "target >= 70% of copy", "faster at N = 16384"})
    CHECK_MESSAGE(r.output.find(words) != std::string::npos, words);
}
