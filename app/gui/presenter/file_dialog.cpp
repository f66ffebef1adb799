// file_dialog.cpp — the experiment file modal (see file_dialog.hpp).
#include "app/gui/presenter/file_dialog.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.hpp"
#include "core/json_check.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/shell/app.hpp"

namespace attnscope::gui {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPopup = "Experiment file";
constexpr std::size_t kMaxExperimentBytes = std::size_t{1} << 20;  // an experiment is a few hundred bytes

std::string absolute_text(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

std::string current_dir() {
  std::error_code ec;
  fs::path p = fs::current_path(ec);
  return ec ? std::string(".") : p.string();
}

}  // namespace

void ExperimentFileDialog::set_path(const std::string& path) {
  std::memset(path_.data(), 0, path_.size());
  std::strncpy(path_.data(), path.c_str(), path_.size() - 1);
}

void ExperimentFileDialog::show(Mode mode, const Settings& settings) {
  mode_ = mode;
  popup_requested_ = true;
  close_requested_ = false;
  errors_.clear();
  // Start where the user was last: the newest recent file (save: its name, to overwrite or edit; open: its
  // folder), else the current folder.
  const std::string recent = settings.recent_experiments.empty() ? "" : settings.recent_experiments.front();
  if (mode == Mode::Save) {
    set_path(!recent.empty() ? recent : (fs::path(current_dir()) / "experiment.json").string());
  } else {
    const std::string dir = recent.empty() ? current_dir() : fs::path(recent).parent_path().string();
    set_path(dir + "/");
  }
  listed_dir_.clear();
}

void ExperimentFileDialog::show_failed_open(const std::string& path) {
  mode_ = Mode::Open;
  popup_requested_ = true;
  close_requested_ = false;
  set_path(path);
  listed_dir_.clear();
}

void ExperimentFileDialog::refresh_listing() {
  std::error_code ec;
  fs::path typed(path_text());
  fs::path dir = fs::is_directory(typed, ec) ? typed : typed.parent_path();
  if (dir.empty()) dir = current_dir();
  const std::string key = absolute_text(dir.string());
  if (key == listed_dir_) return;
  listed_dir_ = key;
  listing_.clear();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->path().extension() == ".json" && it->is_regular_file(fec)) listing_.push_back(it->path().filename().string());
    if (listing_.size() >= 500) break;  // a huge folder: the first 500 (type the name for others)
  }
  std::sort(listing_.begin(), listing_.end());
}

bool ExperimentFileDialog::save(const std::string& path, const ExperimentConfig& config, Settings& settings) {
  errors_.clear();
  if (path.empty() || path.back() == '/') {
    errors_.push_back("type a file name to save to (for example experiment.json)");
    return false;
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    errors_.push_back("'" + path + "' is a folder; add a file name (for example " + path + "/experiment.json)");
    return false;
  }
  const FileWriteResult result = write_file_atomically(path, to_json(config));
  if (!result.ok) {
    errors_.push_back(result.error);
    return false;
  }
  settings.remember_experiment(absolute_text(path));
  notice_ = "saved " + absolute_text(path);
  notice_until_ = ImGui::GetCurrentContext() ? ImGui::GetTime() + 4.0 : 0.0;
  listed_dir_.clear();
  return true;
}

bool ExperimentFileDialog::open(const std::string& path, UiState& ui, const SpecLimits& limits, Settings& settings) {
  errors_.clear();
  std::error_code ec;
  if (path.empty() || fs::is_directory(path, ec)) {
    errors_.push_back("choose a .json file (click one in the list, or type its name)");
    return false;
  }
  // Read and parse here (not load_config_file) so a syntax error is named as FILE:LINE, as every data file's is.
  std::string text;
  if (!read_bounded_file(path, kMaxExperimentBytes, "experiment", text, errors_)) return false;
  if (!parse_json_text(text, path, errors_)) return false;
  const ConfigResult loaded = from_json(text, path);
  if (!loaded.ok) {
    errors_ = loaded.errors;  // the file's name and line, and what is wrong
    return false;
  }
  const SpecResult spec = to_spec(loaded.config, limits);
  if (!spec.ok) {
    for (const std::string& e : spec.errors) errors_.push_back(path + ": " + e);
    return false;
  }
  // Valid: it becomes the draft and, through ApplyDraft, the experiment and an undo step.
  ui.draft = loaded.config;
  std::string mask_error;
  load_mask_editor(ui, loaded.config.mask, &mask_error);
  ui.draft.causal = loaded.config.causal;
  ui.request(UiCommand::ApplyDraft);
  settings.remember_experiment(absolute_text(path));
  notice_ = "opened " + absolute_text(path);
  notice_until_ = ImGui::GetCurrentContext() ? ImGui::GetTime() + 4.0 : 0.0;
  return true;
}

void ExperimentFileDialog::draw(ViewContext& ctx, Settings& settings) {
  const Palette& pal = palette();
  if (!notice_.empty() && ImGui::GetTime() < notice_until_) {
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y - ctx.ui.font_px * 3.5f),
                            ImGuiCond_Always, ImVec2(0.5f, 1.0f));
    ImGui::Begin("##file_notice", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoInputs);
    ImGui::TextUnformatted(notice_.c_str());
    ImGui::End();
  }
  if (mode_ == Mode::Closed) return;
  if (popup_requested_) {
    ImGui::OpenPopup(kPopup);
    popup_requested_ = false;
  }
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.5f), ImGuiCond_Always,
                          ImVec2(0.5f, 0.5f));
  ImGui::SetNextWindowSize(ImVec2(std::min(vp->Size.x * 0.9f, ctx.ui.font_px * 44.f), 0));
  bool keep_open = !close_requested_;
  close_requested_ = false;
  if (!ImGui::BeginPopupModal(kPopup, &keep_open, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoMove)) {
    mode_ = Mode::Closed;
    return;
  }
  const bool saving = mode_ == Mode::Save;
  ImGui::TextUnformatted(saving ? "Save the experiment on screen as JSON" : "Open an experiment (JSON)");
  const float button_w = ImGui::CalcTextSize("Cancel").x + ImGui::GetStyle().FramePadding.x * 6;
  ImGui::SetNextItemWidth(-2 * button_w - ImGui::GetStyle().ItemSpacing.x * 2);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool enter = ImGui::InputText("##path", path_.data(), path_.size(), ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  bool act = ImGui::Button(saving ? "Save" : "Open", ImVec2(button_w, 0)) || enter;
  ImGui::SameLine();
  if (ImGui::Button("Cancel", ImVec2(button_w, 0))) keep_open = false;

  refresh_listing();
  ImGui::TextDisabled("%s: %zu .json file%s", listed_dir_.c_str(), listing_.size(), listing_.size() == 1 ? "" : "s");
  const float list_h = ctx.ui.font_px * 1.45f * 8;
  ImGui::BeginChild("##files", ImVec2(0, list_h), true);
  for (const std::string& name : listing_) {
    const std::string full = (fs::path(listed_dir_) / name).string();
    if (ImGui::Selectable(name.c_str(), full == path_text(), ImGuiSelectableFlags_AllowDoubleClick)) {
      set_path(full);
      if (ImGui::IsMouseDoubleClicked(0)) act = true;
    }
  }
  if (listing_.empty()) ImGui::TextDisabled("no .json files here; type a folder or a file path above");
  ImGui::EndChild();
  if (!settings.recent_experiments.empty()) {
    ImGui::TextDisabled("recent");
    for (const std::string& recent : settings.recent_experiments) {
      if (ImGui::Selectable(recent.c_str(), recent == path_text(), ImGuiSelectableFlags_AllowDoubleClick)) {
        set_path(recent);
        if (ImGui::IsMouseDoubleClicked(0)) act = true;
      }
    }
  }
  if (saving) {
    std::error_code ec;
    if (fs::is_regular_file(path_text(), ec)) ImGui::TextDisabled("the file exists and will be replaced");
  }
  if (act) {
    const std::string path = path_text();
    const bool ok = saving ? save(path, ctx.state.config, settings)
                           : ctx.worker && open(path, ctx.ui, ctx.worker->limits(), settings);
    if (ok) keep_open = false;
  }
  if (!errors_.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(pal.error_text));
    ImGui::PushTextWrapPos(0);
    for (const std::string& e : errors_) ImGui::TextUnformatted(e.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
  }
  if (!keep_open) {
    mode_ = Mode::Closed;
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

}  // namespace attnscope::gui
