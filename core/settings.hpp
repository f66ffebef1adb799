// settings.hpp — what the app remembers between runs: presentation (font scale, theme, colormap), the window, the
// recent experiment files and the lesson position. Stored as JSON in the user's config folder (the app finds
// it: $XDG_CONFIG_HOME/attnscope/settings.json) and always written through write_file_atomically, so a crash or
// kill -9 during a save leaves the previous file whole. A bad file never stops the app: each bad field is
// reported by file, line and key and takes its default; a file that is not JSON at all gives every default.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/atomic_file.hpp"

namespace attnscope {

enum class Theme { Dark, Light };
const char* theme_name(Theme t);  // "dark" | "light"

struct WindowPlacement {
  int x = -1, y = -1;          // -1: let the window manager place it
  int width = 1600, height = 900;
  bool maximized = false;
  bool fullscreen = false;
  bool operator==(const WindowPlacement&) const = default;
};

struct LessonPosition {
  std::string lesson;  // the lesson file's path ("" : none open)
  int step = 1;        // 1-based (0 reads as the first)
  bool operator==(const LessonPosition&) const = default;
};

struct Settings {
  double font_scale = 1.0;               // 0.5 .. 4
  Theme theme = Theme::Dark;
  std::string colormap = "viridis";
  bool pointer_spotlight = false;
  WindowPlacement window;
  std::vector<std::string> recent_experiments;  // paths, newest first, at most kMaxRecent
  LessonPosition lesson;
  bool operator==(const Settings&) const = default;

  static constexpr std::size_t kMaxRecent = 10;
  // Puts `path` first, drops an older copy of it and anything past kMaxRecent.
  void remember_experiment(const std::string& path);
};

struct SettingsLoad {
  Settings settings;                // defaults where the file had nothing usable
  std::vector<std::string> errors;  // "settings.json:7: /font_scale: must be from 0.5 to 4, not 9"
};

// Where the settings file lives: $XDG_CONFIG_HOME/attnscope/settings.json when XDG_CONFIG_HOME is an absolute path
// (the XDG base-directory rule: a relative or empty value is ignored), else $HOME/.config/attnscope/settings.json;
// "" when neither is usable (the app then runs without saving settings). Pure: the caller passes the variables.
std::string settings_path_from(const char* xdg_config_home, const char* home);
// The same from this process's environment (read once, at start-up).
std::string default_settings_path();

SettingsLoad parse_settings(std::string_view text, const std::string& source);
// A missing file is no error (first start): defaults and no message.
SettingsLoad load_settings_file(const std::string& path);
std::string settings_to_json(const Settings& settings);
FileWriteResult save_settings_file(const std::string& path, const Settings& settings);

}  // namespace attnscope
