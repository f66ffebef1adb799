// test_cli_ring.cpp — `attnscope ring`, the real binary: bad inputs exit 2 with a message naming the flag
// (docs/BAD_INPUTS.md, "Command line and config files"), and a run prints the work table, the imbalance, the
// simulated-rank timeline and an error against the reference that is small.
#include <doctest/doctest.h>

#include <cstdlib>
#include <regex>
#include <string>

#include "tests/common/test_util.hpp"

namespace {

attnscope::test::CommandResult ring(const std::string& args) {
  const auto r = attnscope::test::run_command("timeout 120 '" + std::string(ATTNSCOPE_BINARY) + "' ring " + args);
  REQUIRE(r.started);
  return r;
}

}  // namespace

TEST_CASE("cli ring: bad inputs exit 2 with the reason") {
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {Case{"--ranks 0", "--ranks '0' is out of range (allowed: 1..64)"},
                        Case{"--ranks 65", "--ranks '65' is out of range (allowed: 1..64)"},
                        Case{"--ranks 8 --n 5", "--ranks 8 is more than --n 5 tokens"},
                        Case{"--schedule ring", "--schedule 'ring': choose plain, zigzag or both"},
                        Case{"--heads 6 --kv-heads 4", "--heads 6 is not a multiple of --kv-heads 4"},
                        Case{"--link-gbs 0", "--link-gbs"},
                        Case{"--n 0", "--n '0' is out of range"},
                        Case{"--rank 4", "unknown flag --rank; did you mean --ranks?"}}) {
    const auto r = ring(c.args);
    INFO("attnscope ring " << c.args << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.message) != std::string::npos);
  }
  // A refused --ranks gets its own message only (its fallback is not compared with --n).
  const auto r = ring("--ranks 0 --n 2");
  CHECK(r.status == 2);
  CHECK(r.output.find("is more than --n") == std::string::npos);
}

TEST_CASE("cli ring: both schedules print work, imbalance, timeline and a small error; zigzag balances causal") {
  const auto r = ring("--ranks 4 --n 203 --heads 4 --kv-heads 2 --d 16 --causal --link-gbs 100");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("schedule plain: 4 shards of 50 or 51 tokens") != std::string::npos);
  CHECK(r.output.find("schedule zigzag: 8 chunks of 25 or 26 tokens; rank r holds chunks r and 7-r") !=
        std::string::npos);
  CHECK(r.output.find("simulated ranks") != std::string::npos);
  CHECK(r.output.find("at 100 GB/s") != std::string::npos);
  std::vector<double> imbalance, error;
  const std::regex imbalance_re("imbalance \\(sum over steps of max work / of mean work\\): ([0-9.]+)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), imbalance_re); it != std::sregex_iterator(); ++it)
    imbalance.push_back(std::stod((*it)[1]));
  const std::regex error_re("single-rank reference: ([0-9.e+-]+)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), error_re); it != std::sregex_iterator(); ++it)
    error.push_back(std::stod((*it)[1]));
  REQUIRE(imbalance.size() == 2);
  REQUIRE(error.size() == 2);
  CHECK(imbalance[0] > 1.5);   // plain causal, W = 4: about 2 − 1/W
  CHECK(imbalance[1] < 1.05);  // zigzag
  for (double e : error) CHECK(e < 1e-4);
}
