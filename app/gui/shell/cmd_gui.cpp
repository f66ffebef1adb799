// cmd_gui.cpp — `attnscope gui` (the default command): the interactive window. With no display it says so
// and shows the headless command instead of failing obscurely.
#include <iostream>

#include "app/cli/args.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/experiment_flags.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/views/lesson/model.hpp"
#include "app/gui/shell/experiment_args.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/recording/recording_ui.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kName = "gui";

std::string gui_help() {
  return std::string(
             "attnscope [gui] [--size WxH] [--backend cpu|cuda] [--settings FILE] [--config FILE.json | experiment flags]\n\n"
             "Opens the desktop app. Every experiment flag sets the app's starting state; change anything in the\n"
             "control panel afterwards. Without a display, use `attnscope render --out x.png` with the same flags.\n\n"
             "  --size WxH              window size in pixels                    default 1600x900\n"
             "  --backend cpu|cuda      backend that computes the pictures       default cpu\n"
             "  --settings FILE         the settings file (theme, text size, window, recent experiments)\n"
             "                          default $XDG_CONFIG_HOME/attnscope/settings.json, else\n"
             "                          ~/.config/attnscope/settings.json; saved on change and at exit\n"
             "  --lessons DIR           the folder the Lessons tab lists    default the app's assets/lessons\n\n") +
         experiment_flags_help() +
         "\n\nExit status: 0 the window was closed; 1 no display (the message names the headless command) or the\n"
         "window or OpenGL could not be started; 2 usage error (unknown flag, bad value).";
}

void explain_headless(const std::vector<std::string>& argv, const std::string& why) {
  std::string flags;
  for (auto& a : argv) flags += " " + a;
  std::cerr << "attnscope gui: " << why << "\n"
            << "To draw the same UI without a display, render it headless into a PNG:\n"
            << "  attnscope render --out attnscope.png" << flags << "\n"
            << "(`attnscope render --help` lists its flags.)\n";
}

int run_gui(const std::vector<std::string>& argv) {
  Args args(argv, experiment_boolean_flags());
  std::vector<std::string> known = experiment_flag_names();
  known.push_back("--size");
  known.push_back("--backend");
  known.push_back("--settings");
  known.push_back("--lessons");
  int width = 1600, height = 900;
  std::vector<std::string> errors;
  const auto size = args.get("--size");
  if (size) {
    std::string error;
    if (!gui::parse_size(*size, &width, &height, &error)) errors.push_back(error);
  }
  gui::LaunchSetup setup = gui::prepare_launch(args);
  for (auto& e : args.errors(known)) errors.push_back(e);
  for (auto& e : setup.errors) errors.push_back(e);
  if (!errors.empty()) return report_errors(kName, errors);
  // spec_errors do not stop the window: the control panel shows them and keeps the entries for fixing.

  if (!gui::display_available()) {
    explain_headless(argv, "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).");
    return 1;
  }
  gui::App app(setup.config, std::move(setup.backend));
  const std::string settings_path = args.get_or("--settings", default_settings_path());
  WindowPlacement placement;
  if (settings_path.empty())
    std::cerr << "attnscope gui: neither XDG_CONFIG_HOME nor HOME is set: settings will not be saved (or use "
                 "--settings FILE)\n";
  else
    placement = app.presenter().open_settings(settings_path, app.ui()).settings.window;
  if (size) placement = {-1, -1, width, height, false, false};  // --size wins over the remembered window
  std::string error;
  auto platform = gui::create_window_platform(placement.width, placement.height, "attnscope", &error);
  if (!platform) {
    explain_headless(argv, error);
    return 1;
  }
  platform->apply_placement(placement);
  {
    if (!app.init(*platform, &error)) {
      std::cerr << "attnscope gui: " << error << "\n";
      app.shutdown();
      return 1;
    }
    app.ui().lesson.dir = args.get_or("--lessons", "");  // "" : found beside the executable
    // The lesson the user was in last time, at its step (a lesson file since moved or broken is simply not reopened).
    if (const LessonPosition& last = app.presenter().settings().lesson; !last.lesson.empty() &&
        !gui::restore_lesson_position(app.ui().lesson, last, gui::app_lesson_vocabulary()))
      std::cerr << "attnscope gui: the last lesson, " << last.lesson << ", could not be reopened\n";
    while (!platform->should_close()) {
      // Sleep until input arrives; while anything plays, animates or shows progress, wake at the display rate;
      // while recording, draw continuously (every drawn frame is a video frame).
      platform->wait_events(app.recording().busy() ? 1.0 / 240.0 : app.wants_frames() ? 1.0 / 60.0 : 0.25);
      app.frame(*platform);
    }
    app.shutdown();
  }
  return 0;
}

const std::string& help_text() {
  static const std::string text = gui_help();
  return text;
}

}  // namespace

const Command kGuiCommand{"gui", "open the desktop app (default when no command is given)", help_text().c_str(),
                          run_gui};

}  // namespace attnscope::app
