// cmd_bench.cpp — `attnscope bench` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_bench(const std::vector<std::string>&) {
  std::cerr << "attnscope bench: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kBenchCommand{"bench", "(not available yet)", "attnscope bench: not available yet", run_bench};
}  // namespace attnscope::app
