// commands.cpp — the command table and top-level help.
#include "app/cli/commands.hpp"

#include <cstring>
#include <iostream>

#include "app/cli/args.hpp"

namespace attnscope::app {

#if !defined(ATTNSCOPE_WITH_GUI)
namespace {
int gui_not_built(const std::vector<std::string>&) {
  std::cerr << "attnscope: this build has no GUI (configured with ATTNSCOPE_GUI=OFF).\n"
               "Rebuild with the GUI (scripts/run-app.sh installs what it needs), or use the command-line tools:\n"
               "  attnscope bench | cost | run | devices\n";
  return 2;
}
}  // namespace
const Command kGuiCommand{"gui", "open the desktop app (default when no command is given)",
                          "attnscope gui: not available in this build (ATTNSCOPE_GUI=OFF).", gui_not_built};
const Command kRenderCommand{"render", "draw the app headless into a PNG (needs the GUI build)",
                             "attnscope render: not available in this build (ATTNSCOPE_GUI=OFF).", gui_not_built};
#endif

std::vector<const Command*> all_commands() {
  return {&kGuiCommand, &kRenderCommand, &kRunCommand, &kBenchCommand, &kCostCommand, &kDevicesCommand,
          &kDecodeCommand, &kSceneCommand, &kBackwardCommand, &kRingCommand};
}

namespace {
void print_help() {
  std::cout << "attnscope — run real attention kernels and watch what they cost.\n\n"
               "usage: attnscope [command] [flags]      (no command: open the desktop app)\n\n"
               "commands:\n";
  for (auto* c : all_commands()) {
    std::cout << "  " << c->name;
    for (size_t i = std::strlen(c->name); i < 10; ++i) std::cout << ' ';
    std::cout << c->summary << "\n";
  }
  std::cout << "\n`attnscope <command> --help` lists the command's flags.\n"
               "Exit status: 0 success, 1 the command failed, 2 usage error (unknown command or flag, bad value).\n";
}
}  // namespace

int run_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    if (args.size() > 1)
      for (auto* c : all_commands())
        if (args[1] == c->name) { std::cout << c->help << "\n"; return 0; }
    print_help();
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "attnscope " << ATTNSCOPE_VERSION << "\n";
    return 0;
  }
  const Command* command = &kGuiCommand;
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    command = nullptr;
    for (auto* c : all_commands())
      if (args[0] == c->name) command = c;
    if (!command) {
      std::vector<std::string> names;
      for (auto* c : all_commands()) names.push_back(c->name);
      const std::string near = nearest_flag(args[0], names);
      std::cerr << "attnscope: unknown command '" << args[0] << "'"
                << (near.empty() ? "" : "; did you mean " + near + "?") << "\n\n";
      print_help();
      return 2;
    }
    args.erase(args.begin());
  }
  for (auto& a : args)
    if (a == "--help" || a == "-h") { std::cout << command->help << "\n"; return 0; }
  return command->run(args);
}

}  // namespace attnscope::app
