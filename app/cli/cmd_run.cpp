// cmd_run.cpp — `attnscope run` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_run(const std::vector<std::string>&) {
  std::cerr << "attnscope run: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kRunCommand{"run", "(not available yet)", "attnscope run: not available yet", run_run};
}  // namespace attnscope::app
