// test_cli_backward.cpp — `attnscope backward` run as a binary on the CPU backend: a small causal GQA training step
// prints both algorithms' times, the memory table and gradients within tolerance of the float64 reference (exit 0);
// a budget below naive's peak fails naive with the bytes it needs (exit 1); bad flags are usage errors (exit 2).
#include <doctest/doctest.h>

#include <string>

#include "tests/common/test_util.hpp"

namespace {

attnscope::test::CommandResult backward(const std::string& args) {
  const auto r = attnscope::test::run_command("timeout 120 '" + std::string(ATTNSCOPE_BINARY) + "' backward " + args);
  REQUIRE(r.started);
  return r;
}

}  // namespace

TEST_CASE("cli backward: naive and flash on a causal GQA experiment, memory by category, error against float64") {
  const auto r = backward("--n 97 --heads 4 --kv-heads 2 --d 16 --causal --reps 1");
  INFO(r.output);
  CHECK(r.status == 0);
  for (const char* line : {"\nnaive\n", "\nflash\n", "saved P", "saved lse", "dO, dQ, dK, dV", "workspace",
                           "backward / forward", "training peak / inference peak", "max |error| against the float64"})
    CHECK(r.output.find(line) != std::string::npos);
  CHECK(r.output.find("OUT OF TOLERANCE") == std::string::npos);
}

TEST_CASE("cli backward: a budget below naive's peak refuses naive with what it needs; flash still runs") {
  const auto r = backward("--n 512 --heads 2 --d 16 --reps 1 --budget-mib 2 --no-check");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("would need") != std::string::npos);
  CHECK(r.output.find("use flash") != std::string::npos);
  CHECK(r.output.find("flash-2 CPU twin") != std::string::npos);
}

TEST_CASE("cli backward: bad flags are usage errors, nothing run") {
  for (const char* args : {"--algo flash1", "--reps 0", "--check --no-check", "--n 0", "--bogus 1"}) {
    const auto r = backward(args);
    INFO(args << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("backward on") == std::string::npos);
  }
}
