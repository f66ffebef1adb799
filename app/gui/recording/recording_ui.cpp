// recording_ui.cpp — the Record button, dialog and progress, and the frame read-back (see recording_ui.hpp).
#include "app/gui/recording/recording_ui.hpp"

#include <glad/gl.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "app/gui/platform/platform.hpp"
#include "app/gui/shell/app_state.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {
namespace {

namespace fs = std::filesystem;

constexpr double kResultSeconds = 8.0;  // how long "saved ..." stays in the corner (real time)
const ImVec4 kRed(0.95f, 0.30f, 0.25f, 1.0f);
const ImVec4 kGreen(0.45f, 0.85f, 0.45f, 1.0f);

void copy_path(std::array<char, 1024>& dst, const std::string& src) {
  std::memset(dst.data(), 0, dst.size());
  std::strncpy(dst.data(), src.c_str(), dst.size() - 1);
}

// "12 frames · 0.4 s of video · 1.2 MiB"
std::string progress_text(const RecordProgress& p, double fps) {
  char text[160];
  std::snprintf(text, sizeof text, "%lld frames · %.1f s of video · %s", static_cast<long long>(p.frames_written),
                static_cast<double>(p.frames_written) / fps, format_bytes(static_cast<double>(p.bytes)).c_str());
  return text;
}

}  // namespace

RecordingController::~RecordingController() { finish_and_wait(); }

bool RecordingController::start(const RecordOptions& options, std::string* error) {
  if (busy()) {
    *error = recording() ? "a recording is already running" : "the last recording is still being finished; try again in a moment";
    return false;
  }
  auto recorder = std::make_unique<Recorder>();
  if (!recorder->start(options, error)) return false;
  recorder_ = std::move(recorder);
  ui_.fixed_time_step = 1.0 / options.fps;
  start_frame_ = ImGui::GetFrameCount();
  result_.clear();
  result_pending_ = true;
  return true;
}

void RecordingController::stop() {
  if (recorder_) recorder_->stop();
  ui_.fixed_time_step = 0;  // back to real time at once; the writer finishes the file in the background
}

bool RecordingController::finish_and_wait() {
  if (!recorder_) return false;
  const bool was_recording = recording();
  recorder_->stop();
  if (was_recording) ui_.fixed_time_step = 0;
  return recorder_->wait();
}

void RecordingController::set_default_path() {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  std::error_code ec;
  fs::path dir = fs::current_path(ec);
  if (ec) dir = ".";
  copy_path(path_, (dir / (std::string("attnscope-") + stamp + record_format_extension(format_))).string());
}

void RecordingController::open_dialog() {
  set_default_path();
  dialog_error_.clear();
  open_dialog_ = true;
}

void RecordingController::draw(const Platform& platform) {
  // A recording that ended (stopped, or a write error): hand time back and say how it went.
  if (recorder_ && !recorder_->recording() && ui_.fixed_time_step > 0 && result_pending_) ui_.fixed_time_step = 0;
  if (result_pending_ && recorder_ && !recorder_->running()) {
    const RecordProgress p = recorder_->progress();
    const RecordOptions& o = recorder_->options();
    result_is_error_ = !p.error.empty();
    result_ = result_is_error_ ? "recording stopped: " + p.error
                               : "saved " + o.path + " (" + record_format_label(o.format) + ", " + progress_text(p, o.fps) + ")";
    result_until_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(kResultSeconds));
    result_pending_ = false;
  }

  // Ctrl R: ImGui 1.86's key array is indexed by the platform's key codes, and GLFW's letter keys are their
  // upper-case ASCII codes ('R').
  const ImGuiIO& io = ImGui::GetIO();
  if (!platform.headless() && io.KeyCtrl && !io.WantTextInput && ImGui::IsKeyPressed('R', false)) {
    if (recording()) stop();
    else if (!busy() && !ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId)) open_dialog();
  }
  draw_overlay(platform);
  draw_dialog(platform);
}

void RecordingController::draw_overlay(const Platform& platform) {
  overlay_list_ = nullptr;
  const bool show_result = !result_.empty() && (result_is_error_ || std::chrono::steady_clock::now() < result_until_);
  // Headless renders show the app, not a button nobody can press; a recording's progress is still drawn (and
  // left out of its frames).
  if (platform.headless() && !busy()) {
    ui_.menu_bar_right_reserved = 0;
    return;
  }
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  const float pad = ui_.font_px * 0.4f;
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x - pad, vp->Pos.y + pad * 0.25f), ImGuiCond_Always, ImVec2(1, 0));
  const bool panel = busy() || show_result;  // a backed panel; idle, only the button shows
  ImGui::SetNextWindowBgAlpha(panel ? 0.92f : 0.0f);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
                                 ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoMove;
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(pad * 0.5f, pad * 0.25f));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, panel ? 1.0f : 0.0f);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowMinSize, ImVec2(1, 1));
  ImGui::Begin("##recording", nullptr, flags);
  ImGui::PopStyleVar(3);
  overlay_list_ = ImGui::GetWindowDrawList();
  if (recording()) {
    const RecordProgress p = recorder_->progress();
    ImGui::AlignTextToFramePadding();
    ImGui::TextColored(kRed, "● REC");
    ImGui::SameLine();
    ImGui::Text("%s", progress_text(p, recorder_->options().fps).c_str());
    ImGui::SameLine();
    if (ImGui::Button("Stop (Ctrl R)")) stop();
  } else if (busy()) {
    const RecordProgress p = recorder_->progress();
    ImGui::AlignTextToFramePadding();
    ImGui::Text("finishing %s… %lld of %lld frames written", fs::path(recorder_->options().path).filename().c_str(),
                static_cast<long long>(p.frames_written), static_cast<long long>(p.frames_given));
  } else {
    if (show_result) {
      ImGui::AlignTextToFramePadding();
      ImGui::PushTextWrapPos(vp->Size.x * 0.6f);
      ImGui::TextColored(result_is_error_ ? kRed : kGreen, "%s", result_.c_str());
      ImGui::PopTextWrapPos();
      ImGui::SameLine();
      if (ImGui::SmallButton("×")) result_.clear();
      ImGui::SameLine();
    }
    if (ImGui::Button("● Record")) open_dialog();
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Record the window as MP4, GIF or a PNG sequence (Ctrl R starts and stops)");
  }
  // The menu bar keeps its right-hand text clear of this window (it floats over the bar's right end).
  ui_.menu_bar_right_reserved = ImGui::GetWindowWidth() + pad * 2;
  ImGui::End();
}

void RecordingController::draw_dialog(const Platform& platform) {
  if (open_dialog_) {
    ImGui::OpenPopup("Record");
    open_dialog_ = false;
  }
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.5f), ImGuiCond_Appearing,
                          ImVec2(0.5f, 0.5f));
  if (!ImGui::BeginPopupModal("Record", nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings))
    return;
  const float wrap = ui_.font_px * 32;
  ImGui::PushTextWrapPos(wrap);
  ImGui::TextWrapped("Records what the window shows, one frame per drawn frame on a fixed time step: animations "
                     "advance 1/fps per frame whatever the real frame rate, so the video plays at true speed.");
  ImGui::Spacing();
  for (RecordFormat f : {RecordFormat::Mp4, RecordFormat::Gif, RecordFormat::PngSequence}) {
    if (ImGui::RadioButton(record_format_label(f), format_ == f) && format_ != f) {
      // The name follows the format: swap a known extension (or add one; a folder has none).
      fs::path p(path_.data());
      if (auto known = record_format_for_path(p.string()); known && *known != RecordFormat::PngSequence)
        p.replace_extension();
      format_ = f;
      copy_path(path_, p.string() + record_format_extension(f));
      dialog_error_.clear();
    }
    ImGui::SameLine();
  }
  ImGui::NewLine();
  const bool video = format_ != RecordFormat::PngSequence;
  ImGui::SetNextItemWidth(wrap);
  ImGui::InputText(video ? "file" : "folder", path_.data(), path_.size());
  if (!video) ImGui::TextDisabled("frames are written as frame_000001.png, frame_000002.png, … into this folder");
  // A rate outside 1..120 is not applied: it is named in red beside the field and the last valid rate stays.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("frames per second");
  ImGui::SameLine();
  const float fps_column = ImGui::CalcTextSize("frames per second").x + ImGui::GetStyle().ItemSpacing.x;
  ImGui::SetNextItemWidth(ui_.font_px * 8);
  checked_int_field("##fps", &fps_, 5, "frames per second of the video: 1 to 120", int_range_rule(1, 120),
                    &fps_problem_);
  if (!fps_problem_.empty()) field_error(fps_problem_ + "; recording at " + std::to_string(fps_) + " fps", fps_column);
  ImGui::TextDisabled("size: %d×%d pixels (the window's framebuffer)", platform.framebuffer_width(),
                      platform.framebuffer_height());
  const VideoPluginLoad* plugin = video ? &video_plugin() : nullptr;
  if (plugin && !plugin->ok()) ImGui::TextColored(kRed, "%s", plugin->error.c_str());
  if (!dialog_error_.empty()) ImGui::TextColored(kRed, "%s", dialog_error_.c_str());
  ImGui::PopTextWrapPos();
  ImGui::Spacing();
  // Not while the typed rate is refused: Enter in that field must not start a recording at a rate not shown.
  const bool can_start = (!plugin || plugin->ok()) && fps_problem_.empty();
  ImGui::BeginDisabled(!can_start);
  const bool start_pressed = ImGui::Button("Start recording") || (can_start && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter), false));
  ImGui::EndDisabled();
  ImGui::SameLine();
  const bool cancel = ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false);
  if (start_pressed && can_start) {
    RecordOptions options;
    options.path = path_.data();
    options.format = format_;
    options.fps = static_cast<double>(fps_);
    options.width = platform.framebuffer_width();
    options.height = platform.framebuffer_height();
    if (start(options, &dialog_error_)) ImGui::CloseCurrentPopup();
  } else if (cancel) {
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

void RecordingController::render(ImDrawData* draw_data, const Platform& platform) {
  const bool capture = recording() && ImGui::GetFrameCount() > start_frame_;
  if (!capture) {
    ImGui_ImplOpenGL3_RenderDrawData(draw_data);
    return;
  }
  // Everything but the recording's own controls, read back, then the controls on top.
  std::vector<ImDrawList*> lists;
  for (int i = 0; i < draw_data->CmdListsCount; ++i)
    if (draw_data->CmdLists[i] != overlay_list_) lists.push_back(draw_data->CmdLists[i]);
  ImDrawData scene = *draw_data;
  scene.CmdLists = lists.data();
  scene.CmdListsCount = static_cast<int>(lists.size());
  ImGui_ImplOpenGL3_RenderDrawData(&scene);

  const int w = platform.framebuffer_width(), h = platform.framebuffer_height();
  std::vector<uint8_t> pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  recorder_->add_frame(std::move(pixels), /*bottom_up=*/true);  // waits while the writer is behind

  if (overlay_list_ && lists.size() < static_cast<std::size_t>(draw_data->CmdListsCount)) {
    ImDrawData overlay = *draw_data;
    overlay.CmdLists = &overlay_list_;
    overlay.CmdListsCount = 1;
    ImGui_ImplOpenGL3_RenderDrawData(&overlay);
  }
}

}  // namespace attnscope::gui
