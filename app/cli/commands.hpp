// commands.hpp — every `attnscope <command>`. Each command lives in its own file and owns its help text.
#pragma once
#include <string>
#include <vector>

namespace attnscope::app {

struct Command {
  const char* name;
  const char* summary;  // one line for `attnscope --help`
  const char* help;     // full text for `attnscope <command> --help`
  int (*run)(const std::vector<std::string>& args);
};

// Defined in their own files; the GUI commands only when built with ATTNSCOPE_GUI.
extern const Command kGuiCommand;      // app/gui/shell/cmd_gui.cpp
extern const Command kRenderCommand;   // app/gui/shell/cmd_render.cpp
extern const Command kRunCommand;      // app/cli/cmd_run.cpp
extern const Command kBenchCommand;    // app/cli/cmd_bench.cpp
extern const Command kCostCommand;     // app/cli/cmd_cost.cpp
extern const Command kDevicesCommand;  // app/cli/cmd_devices.cpp
extern const Command kDecodeCommand;   // app/cli/cmd_decode.cpp
extern const Command kSceneCommand;    // app/cli/cmd_scene.cpp
extern const Command kBackwardCommand; // app/cli/cmd_backward.cpp
extern const Command kRingCommand;     // app/cli/cmd_ring.cpp

std::vector<const Command*> all_commands();
int run_main(int argc, char** argv);

}  // namespace attnscope::app
