// test_cli_sm_timeline.cpp — `attnscope bench --sm-timeline FILE` where no Hopper kernel runs (this machine, CI):
// usage errors for anything but one flash-tc run (exit 2, nothing written), and the CPU backend's refusal in words
// with no file left. The recording itself is checked on the GPU machine (tests/kernels/test_sm_timeline_cuda.cpp).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/common/test_util.hpp"

namespace {

attnscope::test::CommandResult bench_in(const std::filesystem::path& dir, const std::string& args) {
  const auto r = attnscope::test::run_command("cd '" + dir.string() + "' && timeout 60 '" +
                                              std::string(ATTNSCOPE_BINARY) + "' bench " + args);
  REQUIRE(r.started);
  return r;
}

}  // namespace

TEST_CASE("cli bench --sm-timeline: one flash-tc run only; the CPU backend refuses in words and writes nothing") {
  for (const char* args : {"--algo flash --n 64", "--algo flash-tc --n 64,128", "--algo flash-tc,naive --n 64"}) {
    const auto dir = attnscope::test::fresh_dir("cli_sm_timeline_usage");
    const auto r = bench_in(dir, std::string(args) + " --sm-timeline t.json");
    INFO(args << "\n" << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("--sm-timeline records one CTA of flash-tc's warp-specialised kernel") != std::string::npos);
    CHECK(attnscope::test::entries(dir) == 0);
    std::filesystem::remove_all(dir);
  }
  const auto dir = attnscope::test::fresh_dir("cli_sm_timeline_cpu");
  const auto r = bench_in(dir, "--backend cpu --algo flash-tc --n 64 --dtype fp16 --sm-timeline t.json");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("flash-tc") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "t.json"));
  std::filesystem::remove_all(dir);
}
