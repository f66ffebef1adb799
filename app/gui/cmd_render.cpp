// cmd_render.cpp — `attnscope render` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_render(const std::vector<std::string>&) {
  std::cerr << "attnscope render: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kRenderCommand{"render", "(not available yet)", "attnscope render: not available yet", run_render};
}  // namespace attnscope::app
