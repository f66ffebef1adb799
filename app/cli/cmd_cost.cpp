// cmd_cost.cpp — `attnscope cost` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_cost(const std::vector<std::string>&) {
  std::cerr << "attnscope cost: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kCostCommand{"cost", "(not available yet)", "attnscope cost: not available yet", run_cost};
}  // namespace attnscope::app
