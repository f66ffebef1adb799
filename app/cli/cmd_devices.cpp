// cmd_devices.cpp — `attnscope devices` (being built; see the open issues).
#include <iostream>

#include "app/cli/commands.hpp"

namespace attnscope::app {
namespace {
int run_devices(const std::vector<std::string>&) {
  std::cerr << "attnscope devices: not available yet in this version\n";
  return 2;
}
}  // namespace
const Command kDevicesCommand{"devices", "(not available yet)", "attnscope devices: not available yet", run_devices};
}  // namespace attnscope::app
