// cmd_gui.cpp — `attnscope gui` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_gui(const std::vector<std::string>&) {
  std::cerr << "attnscope gui: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kGuiCommand{"gui", "(not available yet)", "attnscope gui: not available yet", run_gui};
}  // namespace attnscope::app
