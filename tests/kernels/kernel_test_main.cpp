// kernel_test_main.cpp — the kernel suite's own main. Without a CUDA device it names every skipped test case,
// counts them and exits 77 (ctest: Skipped); with ATTNSCOPE_REQUIRE_GPU=1 a missing device is a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "kernels/device_info.hpp"

int main(int argc, char** argv) {
  std::string why;
  const auto devices = attnscope::kernels::list_cuda_devices(&why);
  const char* require = std::getenv("ATTNSCOPE_REQUIRE_GPU");
  const bool required = require && std::strcmp(require, "0") != 0 && *require != '\0';
  if (devices.empty()) {
    const auto& tests = doctest::detail::getRegisteredTests();
    std::cout << "attnscope kernel tests: no CUDA device (" << why << ")\n";
    for (const auto& t : tests) std::cout << "  SKIPPED  " << t.m_name << "\n";
    std::cout << "skipped " << tests.size() << " test cases: they need a CUDA device\n";
    if (required) {
      std::cout << "ATTNSCOPE_REQUIRE_GPU is set: a missing device is a failure\n";
      return 1;
    }
    return 77;
  }
  std::cout << "attnscope kernel tests on " << devices.front().summary() << "\n";
  doctest::Context context(argc, argv);
  return context.run();
}
