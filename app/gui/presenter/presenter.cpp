// presenter.cpp — settings, keys and the per-frame hooks of presenter mode (see presenter.hpp).
#include "app/gui/presenter/presenter.hpp"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "app/gui/gl/heatmap_gl.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/presenter/file_dialog.hpp"
#include "app/gui/presenter/keys_glfw.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/shell/app.hpp"

namespace attnscope::gui {
namespace {

constexpr double kSaveDelaySeconds = 1.0;  // a change is saved this long after the last one (a drag, a key held)
constexpr double kFontStep = 1.1;
constexpr double kFontMin = 0.5, kFontMax = 4.0;

}  // namespace

Presenter::Presenter() : file_dialog_(std::make_unique<ExperimentFileDialog>()) {}
Presenter::~Presenter() = default;

SettingsLoad Presenter::open_settings(const std::string& path, UiState& ui) {
  settings_path_ = path;
  SettingsLoad load = load_settings_file(path);
  settings_ = load.settings;
  saved_ = last_seen_ = settings_;
  has_saved_ = true;
  ui.font_scale = settings_.font_scale;
  for (const std::string& e : load.errors) {
    std::cerr << "attnscope: " << e << "\n";
    add_message(e);
  }
  // The next save replaces a bad file with good settings: keep the user's text beside it first.
  std::error_code ec;
  if (!load.errors.empty() && std::filesystem::is_regular_file(path, ec)) {
    const std::string kept = path + ".bad";
    if (std::filesystem::copy_file(path, kept, std::filesystem::copy_options::overwrite_existing, ec))
      add_message("the file as it was is kept in " + kept);
  }
  return load;
}

ColormapKind Presenter::colormap() const {
  ColormapKind kind = ColormapKind::Viridis;
  parse_colormap(settings_.colormap, &kind);
  return kind;
}

void Presenter::step_font_scale(UiState& ui, int direction) {
  double s = direction > 0 ? ui.font_scale * kFontStep : direction < 0 ? ui.font_scale / kFontStep : 1.0;
  s = std::round(s * 100.0) / 100.0;  // whole percents: repeated steps come back to 100 %
  ui.font_scale = std::clamp(s, kFontMin, kFontMax);
}

void Presenter::add_message(const std::string& text) {
  if (std::find(messages_.begin(), messages_.end(), text) == messages_.end()) messages_.push_back(text);
}

Presenter::Changes Presenter::before_frame(HeatmapGl& heatmap) {
  Changes changes;
  if (!style_applied_ || applied_theme_ != settings_.theme) {
    applied_theme_ = settings_.theme;
    style_applied_ = true;
    changes.style = true;
  }
  if (applied_colormap_ != settings_.colormap) {
    applied_colormap_ = settings_.colormap;
    changes.recolor = heatmap.set_colormap(colormap());
  }
  return changes;
}

void Presenter::perform(KeyAction action, UiState& ui) {
  switch (action) {
    case KeyAction::ShowKeys: keys_open_ = !keys_open_; break;
    case KeyAction::CloseOverlay:
      keys_open_ = false;
      file_dialog_->close();
      break;
    case KeyAction::FullScreen:
      if (platform_) platform_->set_fullscreen(!platform_->is_fullscreen());
      break;
    case KeyAction::FontBigger: step_font_scale(ui, +1); break;
    case KeyAction::FontSmaller: step_font_scale(ui, -1); break;
    case KeyAction::FontReset: step_font_scale(ui, 0); break;
    case KeyAction::Spotlight: settings_.pointer_spotlight = !settings_.pointer_spotlight; break;
    case KeyAction::SaveExperiment: file_dialog_->show(ExperimentFileDialog::Mode::Save, settings_); break;
    case KeyAction::OpenExperiment: file_dialog_->show(ExperimentFileDialog::Mode::Open, settings_); break;
    case KeyAction::Undo: ui.request(UiCommand::Undo); break;
    case KeyAction::Redo: ui.request(UiCommand::Redo); break;
    case KeyAction::Screenshot:   // capture's helper binds F12
    case KeyAction::LessonNext:   // the lessons' helper binds Space / → / ←
    case KeyAction::LessonBack: break;
    case KeyAction::NextMode: ui.mode_step = +1; break;
    case KeyAction::PreviousMode: ui.mode_step = -1; break;
  }
}

void Presenter::read_keys(UiState& ui) {
  const ImGuiIO& io = ImGui::GetIO();
  for (const KeyBinding& binding : key_bindings()) {
    if (!binding.while_typing && io.WantTextInput) continue;
    // The file dialog owns the keyboard while open (its path field), except for Esc and F1.
    if (file_dialog_->mode() != ExperimentFileDialog::Mode::Closed && binding.action != KeyAction::CloseOverlay &&
        binding.action != KeyAction::ShowKeys)
      continue;
    const bool repeat = binding.action == KeyAction::FontBigger || binding.action == KeyAction::FontSmaller;
    for (const KeyChord& chord : binding.chords) {
      const int code = glfw_key_code(chord.key);
      if (code < 0 || code >= static_cast<int>(IM_ARRAYSIZE(io.KeysDown))) continue;
      if (io.KeyCtrl == chord.ctrl && io.KeyShift == chord.shift && ImGui::IsKeyPressed(code, repeat)) {
        perform(binding.action, ui);
        break;
      }
    }
  }
}

void Presenter::draw_overlays(ViewContext& ctx) {
  read_keys(ctx.ui);
  file_dialog_->draw(ctx, settings_);
  if (keys_open_) draw_keys_overlay(ctx);
  draw_messages(ctx);
  if (settings_.pointer_spotlight) draw_spotlight(ctx);
}

void Presenter::draw_keys_overlay(ViewContext& ctx) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.5f), ImGuiCond_Always,
                          ImVec2(0.5f, 0.5f));
  ImGui::SetNextWindowBgAlpha(0.97f);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                 ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove;
  if (!ImGui::Begin("Keys (F1 or Esc to close)", &keys_open_, flags)) {
    ImGui::End();
    return;
  }
  if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH)) {
    ImGui::TableSetupColumn("key", ImGuiTableColumnFlags_WidthFixed);
    ImGui::TableSetupColumn("what", ImGuiTableColumnFlags_WidthFixed);
    for (const KeyBinding& b : key_bindings()) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      if (ctx.bold_font) ImGui::PushFont(ctx.bold_font);
      ImGui::TextUnformatted(b.keys);
      if (ctx.bold_font) ImGui::PopFont();
      ImGui::TableSetColumnIndex(1);
      ImGui::TextUnformatted(b.what);
    }
    ImGui::EndTable();
  }
  ImGui::TextDisabled("The View menu has the same: theme, colour map, text size, spotlight, full screen.");
  ImGui::End();
}

void Presenter::draw_messages(ViewContext& ctx) {
  if (messages_.empty()) return;
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  const float pad = ctx.ui.font_px * 0.6f;
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + ctx.ui.font_px * 2.5f), ImGuiCond_Always,
                          ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSizeConstraints(ImVec2(0, 0), ImVec2(vp->Size.x * 0.8f, vp->Size.y * 0.6f));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(pad, pad));
  ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(palette().error_text));
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing;
  ImGui::Begin("##presenter_messages", nullptr, flags);
  ImGui::PushTextWrapPos(vp->Size.x * 0.75f);
  int dismiss = -1;
  for (int i = 0; i < static_cast<int>(messages_.size()); ++i) {
    ImGui::PushID(i);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(palette().error_text));
    ImGui::TextUnformatted(messages_[i].c_str());
    ImGui::PopStyleColor();
    ImGui::SameLine();
    if (ImGui::SmallButton("Dismiss")) dismiss = i;
    ImGui::PopID();
  }
  ImGui::PopTextWrapPos();
  if (messages_.size() > 1 && ImGui::SmallButton("Dismiss all")) messages_.clear();
  ImGui::End();
  ImGui::PopStyleColor();
  ImGui::PopStyleVar();
  if (dismiss >= 0 && dismiss < static_cast<int>(messages_.size())) messages_.erase(messages_.begin() + dismiss);
}

void Presenter::draw_spotlight(ViewContext& ctx) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (!ImGui::IsMousePosValid(&mouse)) return;
  // A ring about two and a half text lines across, a faint fill inside it and a dark rim outside so it shows on
  // both themes and over the brightest colours of the map.
  const float r = ctx.ui.font_px * 2.4f, w = std::max(3.0f, ctx.ui.font_px * 0.22f);
  const PackedColor ring = palette().spotlight;
  ImDrawList* dl = ImGui::GetForegroundDrawList();
  dl->AddCircleFilled(mouse, r, (ring & 0x00FFFFFFu) | (40u << 24), 48);
  dl->AddCircle(mouse, r + w * 0.5f + 1.5f, IM_COL32(0, 0, 0, 200), 48, 2.0f);
  dl->AddCircle(mouse, r, ring, 48, w);
}

void Presenter::sync_from(const UiState& ui) {
  settings_.font_scale = ui.font_scale;
  settings_.lesson = ui.lesson_position();  // the lesson and step the user is at ("" : none open)
  if (platform_) {
    WindowPlacement p;
    if (platform_->placement(p)) settings_.window = p;
  }
}

void Presenter::after_frame(const UiState& ui) {
  sync_from(ui);
  if (settings_path_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!(settings_ == last_seen_)) {
    last_seen_ = settings_;
    changed_at_ = now;
  }
  if (has_saved_ && settings_ == saved_) return;
  if (std::chrono::duration<double>(now - changed_at_).count() < kSaveDelaySeconds) return;
  save_now(ui);
}

bool Presenter::save_now(const UiState& ui) {
  sync_from(ui);
  if (settings_path_.empty() || (has_saved_ && settings_ == saved_)) return true;
  saved_ = settings_;  // a failed save is not retried every frame: the next change tries again
  has_saved_ = true;
  const FileWriteResult result = save_settings_file(settings_path_, settings_);
  if (!result.ok) {
    std::cerr << "attnscope: the settings were not saved: " << result.error << "\n";
    add_message("the settings were not saved: " + result.error);
  }
  return result.ok;
}

}  // namespace attnscope::gui
