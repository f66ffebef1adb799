// presenter.hpp — presenter mode: what makes the app readable in front of a class and printable in an article,
// and what it remembers between runs.
//
//   full screen (F11), text size (Ctrl + / Ctrl − / Ctrl 0 drive UiState::font_scale; App rebuilds the fonts),
//   dark high-contrast and light themes (palette.hpp: ImGui, plots and the views' own colours), the colour map
//   (viridis, cividis), a spotlight ring at the pointer, the F1 list of keys (key_bindings.hpp), a one-line menu
//   bar, the experiment file dialog (Ctrl S / Ctrl O, file_dialog.hpp) and the settings file.
//
// Settings: open_settings(path) reads the file (a bad one: each problem named by file and line, shown as a
// dismissible message and on stderr, defaults for what is bad); from then on a change is saved 1 s after the last
// one and at exit (save_now), atomically. Without open_settings (attnscope render) nothing is read or written.
//
// App calls, per frame: before_frame (before ImGui::NewFrame), draw_menu_bar (inside the main window),
// draw_overlays (after it; also reads the keys), after_frame (after rendering: the debounced save).
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "app/gui/gl/colormap.hpp"
#include "app/gui/presenter/key_bindings.hpp"

namespace attnscope::gui {

class Platform;
class HeatmapGl;
class ExperimentFileDialog;
struct UiState;
struct ViewContext;

class Presenter {
 public:
  Presenter();
  ~Presenter();

  // Reads `path` and applies it to `ui` (font scale); returns what was read (its window placement is for the
  // caller, which opens the window). Errors become messages; the app goes on with defaults.
  SettingsLoad open_settings(const std::string& path, UiState& ui);
  const std::string& settings_path() const { return settings_path_; }
  // The settings as they are now (the lessons' position and the recent list live here too).
  Settings& settings() { return settings_; }
  const Settings& settings() const { return settings_; }
  void attach(Platform& platform) { platform_ = &platform; }

  // Presentation choices (the menu, the keys and `attnscope render --theme/--colormap` use these).
  void set_theme(Theme theme) { settings_.theme = theme; }
  void set_colormap(ColormapKind kind) { settings_.colormap = colormap_name(kind); }
  ColormapKind colormap() const;
  static void step_font_scale(UiState& ui, int direction);  // +1: ×1.1, -1: ÷1.1, 0: back to 1; within 0.5 .. 4

  struct Changes {
    bool style = false;    // the theme changed: App re-applies ImGui's style
    bool recolor = false;  // the colour map changed: App recolours the picture
  };
  Changes before_frame(HeatmapGl& heatmap);
  void draw_menu_bar(ViewContext& ctx);
  void draw_overlays(ViewContext& ctx);
  void after_frame(const UiState& ui);
  bool save_now(const UiState& ui);  // false (with a message) when the file could not be written

  // Dismissible messages (settings errors, failed saves), newest last.
  const std::vector<std::string>& messages() const { return messages_; }
  void add_message(const std::string& text);
  bool keys_overlay_open() const { return keys_open_; }
  ExperimentFileDialog& file_dialog() { return *file_dialog_; }
  // Carries out what a key or menu item asks (public so tests can press keys without a keyboard).
  void perform(KeyAction action, UiState& ui);

 private:
  void read_keys(UiState& ui);
  void draw_keys_overlay(ViewContext& ctx);
  void draw_messages(ViewContext& ctx);
  void draw_spotlight(ViewContext& ctx);
  void sync_from(const UiState& ui);  // font scale and window placement into settings_

  Settings settings_;
  std::string settings_path_;  // "" : nothing is saved
  Settings saved_, last_seen_;
  std::chrono::steady_clock::time_point changed_at_{};
  bool has_saved_ = false;
  Platform* platform_ = nullptr;
  bool style_applied_ = false;
  Theme applied_theme_ = Theme::Dark;
  std::string applied_colormap_;
  std::vector<std::string> messages_;
  bool keys_open_ = false;
  std::unique_ptr<ExperimentFileDialog> file_dialog_;
};

// ImGui's style colours and plot::PlotStyle's for a theme (palette.hpp), keeping the style's sizes.
void apply_theme_colors(Theme theme);

}  // namespace attnscope::gui
