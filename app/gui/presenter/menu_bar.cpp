// menu_bar.cpp — the one-line menu at the top of the window: File (open, save, recent experiments), View (theme,
// colour map, text size, spotlight, full screen), Help (the keys). Every item names its key, as the F1 list does.
#include <imgui.h>

#include <cmath>
#include <cstdio>

#include "app/gui/platform/platform.hpp"
#include "app/gui/presenter/file_dialog.hpp"
#include "app/gui/presenter/presenter.hpp"
#include "app/gui/shell/app.hpp"

namespace attnscope::gui {

void Presenter::draw_menu_bar(ViewContext& ctx) {
  if (!ImGui::BeginMenuBar()) return;
  UiState& ui = ctx.ui;
  if (ImGui::BeginMenu("File")) {
    if (ImGui::MenuItem("Open experiment…", "Ctrl O")) perform(KeyAction::OpenExperiment, ui);
    if (ImGui::MenuItem("Save experiment…", "Ctrl S")) perform(KeyAction::SaveExperiment, ui);
    if (ImGui::BeginMenu("Recent", !settings_.recent_experiments.empty())) {
      std::string chosen;
      for (const std::string& path : settings_.recent_experiments)
        if (ImGui::MenuItem(path.c_str())) chosen = path;
      ImGui::EndMenu();
      if (!chosen.empty() && ctx.worker && !file_dialog_->open(chosen, ui, ctx.worker->limits(), settings_))
        file_dialog_->show_failed_open(chosen);  // gone or broken: the dialog says why
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("View")) {
    if (ImGui::BeginMenu("Theme")) {
      if (ImGui::MenuItem("Dark, high contrast (projector)", nullptr, settings_.theme == Theme::Dark)) set_theme(Theme::Dark);
      if (ImGui::MenuItem("Light (print)", nullptr, settings_.theme == Theme::Light)) set_theme(Theme::Light);
      ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Colour map")) {
      if (ImGui::MenuItem("viridis", nullptr, colormap() == ColormapKind::Viridis)) set_colormap(ColormapKind::Viridis);
      if (ImGui::MenuItem("cividis (colour-blind safe: blue to yellow)", nullptr, colormap() == ColormapKind::Cividis))
        set_colormap(ColormapKind::Cividis);
      ImGui::EndMenu();
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Larger text", "Ctrl +", false, ui.font_scale < 4.0)) perform(KeyAction::FontBigger, ui);
    if (ImGui::MenuItem("Smaller text", "Ctrl −", false, ui.font_scale > 0.5)) perform(KeyAction::FontSmaller, ui);
    if (ImGui::MenuItem("Normal text size", "Ctrl 0", false, ui.font_scale != 1.0)) perform(KeyAction::FontReset, ui);
    ImGui::Separator();
    if (ImGui::MenuItem("Pointer spotlight", "L", settings_.pointer_spotlight)) perform(KeyAction::Spotlight, ui);
    const bool can_fullscreen = platform_ && !platform_->headless();
    if (ImGui::MenuItem("Full screen", "F11", platform_ && platform_->is_fullscreen(), can_fullscreen))
      perform(KeyAction::FullScreen, ui);
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Help")) {
    if (ImGui::MenuItem("Keys", "F1", keys_open_)) perform(KeyAction::ShowKeys, ui);
    ImGui::EndMenu();
  }
  // What is in effect, at the right: text size, theme, colour map.
  char state[96];
  std::snprintf(state, sizeof state, "text %d %%  ·  %s  ·  %s", static_cast<int>(std::lround(ui.font_scale * 100)),
                theme_name(settings_.theme), settings_.colormap.c_str());
  const float w = ImGui::CalcTextSize(state).x;
  const float x = ImGui::GetWindowContentRegionMax().x - ui.menu_bar_right_reserved - w;
  if (x > ImGui::GetCursorPosX()) {
    ImGui::SetCursorPosX(x);
    ImGui::TextDisabled("%s", state);
  }
  ImGui::EndMenuBar();
}

}  // namespace attnscope::gui
