// screenshot.cpp — see screenshot.hpp.
//
// Contents
//   write_screenshot      PNG (libpng, with the sidecar as iTXt) + sidecar JSON, both written atomically
//   targets and cropping  "window", UiState::element_rects, the frame's figures
//   OffscreenTarget       a Platform drawing into an FBO of W·s x H·s, delegating input to the window's platform
//   run_pending_screenshot  render_scale = s, three frames into the FBO (the layout settles), read back, restore
//   the dialog            camera button, F12, target / scale / path, the result line
#include "app/gui/capture/screenshot.hpp"

#include <glad/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>  // GLFW_KEY_F12: ImGui 1.86 indexes keys by the backend's key codes
#include <imgui.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/capture/png_file.hpp"
#include "app/gui/shell/app.hpp"
#include "core/atomic_file.hpp"

namespace attnscope::gui::capture {

// ---------------------------------------------------------------- writing
std::string write_screenshot(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height,
                             const CaptureSidecar& sidecar, bool write_sidecar) {
  const std::filesystem::path p(path);
  const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return "cannot write '" + path + "': the folder '" + dir.string() + "' does not exist";
  if (rgba.size() != static_cast<size_t>(width) * height * 4)
    return "cannot write '" + path + "': the image is not " + std::to_string(width) + "x" + std::to_string(height);
  const std::string json = sidecar_to_json(sidecar);
  std::string png, error;
  if (!encode_png(rgba.data(), width, height, {{kPngTextKey, json}, {"Software", "attnscope " + sidecar.version}}, &png,
                  &error))
    return "cannot write '" + path + "': " + error;
  FileWriteResult written = write_file_atomically(path, png);
  if (!written.ok) return written.error;
  if (write_sidecar) {
    written = write_file_atomically(sidecar_path_for(path), json);
    if (!written.ok) {
      // The PNG and its sidecar are one output: without the sidecar the PNG goes too (no partial result).
      std::error_code removed;
      if (std::filesystem::is_regular_file(path, removed)) std::filesystem::remove(path, removed);
      return written.error + " (the PNG '" + path + "' was removed with it)";
    }
  }
  return {};
}

// ---------------------------------------------------------------- targets
std::vector<std::string> capture_targets(const UiState& ui, int frame) {
  std::vector<std::string> targets = {"window"};
  for (auto& [name, rect] : ui.element_rects)
    if (rect.w > 0 && rect.h > 0) targets.push_back(name);
  for (const ExportSource* s : current_sources(frame))
    if (std::find(targets.begin(), targets.end(), s->id) == targets.end()) targets.push_back(s->id);
  return targets;
}

bool crop_to_target(const UiState& ui, int frame, const std::string& target, std::vector<uint8_t>& rgba, int& width,
                    int& height, std::string* error) {
  if (target.empty() || target == "window") return true;
  PixelRect r;
  bool found = false;
  if (auto it = ui.element_rects.find(target); it != ui.element_rects.end() && it->second.w > 0) {
    r = it->second;
    found = true;
  } else if (const ExportSource* s = find_source(target); s && s->frame == frame) {
    const ImVec2 fb = ImGui::GetIO().DisplayFramebufferScale;
    r = {s->x * fb.x, s->y * fb.y, s->w * fb.x, s->h * fb.y};
    found = true;
  }
  if (!found) {
    std::string list;
    for (auto& t : capture_targets(ui, frame)) list += (list.empty() ? "" : ", ") + t;
    *error = "'" + target + "' is not shown in this view; targets: " + list;
    return false;
  }
  const int x0 = std::clamp(static_cast<int>(std::floor(r.x)), 0, width), y0 = std::clamp(static_cast<int>(std::floor(r.y)), 0, height);
  const int x1 = std::clamp(static_cast<int>(std::ceil(r.x + r.w)), 0, width), y1 = std::clamp(static_cast<int>(std::ceil(r.y + r.h)), 0, height);
  if (x1 <= x0 || y1 <= y0) {
    *error = "'" + target + "' was drawn outside the window";
    return false;
  }
  std::vector<uint8_t> out(static_cast<size_t>(x1 - x0) * (y1 - y0) * 4);
  for (int y = y0; y < y1; ++y)
    std::memcpy(out.data() + static_cast<size_t>(y - y0) * (x1 - x0) * 4, rgba.data() + (static_cast<size_t>(y) * width + x0) * 4,
                static_cast<size_t>(x1 - x0) * 4);
  rgba = std::move(out);
  width = x1 - x0;
  height = y1 - y0;
  return true;
}

// ---------------------------------------------------------------- the off-screen target
namespace {

// Draws into its own framebuffer of width x height; input and timing come from the window's platform, then the
// display size is the framebuffer's and the pointer is away (no hover highlights in a capture).
class OffscreenTarget final : public Platform {
 public:
  OffscreenTarget(Platform& window, int width, int height) : window_(window), width_(width), height_(height) {
    glGenFramebuffers(1, &fbo_);
    glGenRenderbuffers(1, &color_);
    glBindRenderbuffer(GL_RENDERBUFFER, color_);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, width_, height_);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, color_);
    complete_ = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
  }
  ~OffscreenTarget() override {
    glDeleteFramebuffers(1, &fbo_);
    glDeleteRenderbuffers(1, &color_);
  }
  bool complete() const { return complete_; }

  std::string name() const override { return window_.name() + " (off-screen capture)"; }
  bool headless() const override { return true; }
  void imgui_init() override {}
  void imgui_new_frame() override {
    window_.imgui_new_frame();
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(static_cast<float>(width_), static_cast<float>(height_));
    io.DisplayFramebufferScale = ImVec2(1, 1);
    io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
  }
  void imgui_shutdown() override {}
  bool should_close() const override { return false; }
  void bind_target() override {
    glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
    glViewport(0, 0, width_, height_);
  }
  void end_frame() override {}
  int framebuffer_width() const override { return width_; }
  int framebuffer_height() const override { return height_; }
  bool read_pixels(std::vector<uint8_t>& rgba, int& width, int& height) override {
    width = width_;
    height = height_;
    const size_t row = static_cast<size_t>(width_) * 4;
    std::vector<uint8_t> bottom_up(row * height_);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo_);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, width_, height_, GL_RGBA, GL_UNSIGNED_BYTE, bottom_up.data());
    glBindFramebuffer(GL_READ_FRAMEBUFFER, 0);
    if (glGetError() != GL_NO_ERROR) return false;
    rgba.resize(bottom_up.size());
    for (int y = 0; y < height_; ++y) std::memcpy(rgba.data() + row * y, bottom_up.data() + row * (height_ - 1 - y), row);
    return true;
  }

 private:
  Platform& window_;
  int width_, height_;
  GLuint fbo_ = 0, color_ = 0;
  bool complete_ = false;
};

struct ScreenshotState {
  std::string target = "window";
  int scale = 2;
  std::array<char, 1024> path{};
  bool dialog_requested = false;
  bool pending = false;    // capture after this frame
  bool running = false;    // inside the capture's frames: draw no capture UI
  std::string message;     // the last result: "wrote ..." or the error
  bool message_is_error = false;
  double message_time = -1e9;
};
ScreenshotState& shot() {
  static ScreenshotState s;
  return s;
}

// attnscope-screenshot-20250101-120000.png in the current directory.
std::string default_screenshot_path() {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  const std::string name = std::string("attnscope-screenshot-") + stamp + ".png";
  std::error_code ec;
  const auto dir = std::filesystem::current_path(ec);
  return ec ? name : (dir / name).string();
}

void set_path(const std::string& path) {
  std::memset(shot().path.data(), 0, shot().path.size());
  std::strncpy(shot().path.data(), path.c_str(), shot().path.size() - 1);
}

}  // namespace

void reset_screenshot_state() { shot() = ScreenshotState{}; }

void run_pending_screenshot(App& app, Platform& platform) {
  ScreenshotState& s = shot();
  if (!s.pending || s.running) return;
  s.pending = false;
  const int w = platform.framebuffer_width(), h = platform.framebuffer_height();
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &max_size);
  auto report = [&](const std::string& message, bool error) {
    s.message = message;
    s.message_is_error = error;
    s.message_time = ImGui::GetTime();
  };
  if (w * s.scale > max_size || h * s.scale > max_size || w * s.scale > 16384 || h * s.scale > 16384) {
    report("cannot capture at " + std::to_string(s.scale) + "×: " + std::to_string(w * s.scale) + "x" +
               std::to_string(h * s.scale) + " is larger than this renderer's " + std::to_string(max_size) +
               " px; choose a smaller scale",
           true);
    return;
  }
  OffscreenTarget target(platform, w * s.scale, h * s.scale);
  if (!target.complete()) {
    report("cannot capture: the renderer refused an off-screen image of " + std::to_string(w * s.scale) + "x" +
               std::to_string(h * s.scale) + "; choose a smaller scale",
           true);
    return;
  }
  UiState& ui = app.ui();
  const float window_scale = ui.render_scale;
  ui.render_scale = static_cast<float>(s.scale);
  s.running = true;
  for (int i = 0; i < 3; ++i) app.frame(target);  // fonts rebuilt at the scale, then the layout settles
  std::vector<uint8_t> rgba;
  int pw = 0, ph = 0;
  std::string error;
  const bool read = target.read_pixels(rgba, pw, ph);
  const int frame = ImGui::GetFrameCount();
  const bool cropped = read && crop_to_target(ui, frame, s.target, rgba, pw, ph, &error);
  const auto names = mode_names();
  const std::string mode = ui.mode >= 0 && ui.mode < static_cast<int>(names.size()) ? names[static_cast<size_t>(ui.mode)] : "";
  const CaptureSidecar sidecar = sidecar_from_app(app.state(), ui, mode, w, h, static_cast<float>(s.scale), s.target,
                                                  colormap_name(app.presenter().colormap()));
  s.running = false;
  ui.render_scale = window_scale;  // the next window frame rasterises the fonts at the window's size again
  platform.bind_target();
  if (!read) return report("cannot capture: the off-screen image could not be read back", true);
  if (!cropped) return report("cannot capture: " + error, true);
  const std::string path = s.path.data();
  error = write_screenshot(path, rgba, pw, ph, sidecar, /*write_sidecar=*/true);
  if (!error.empty()) return report(error, true);
  report("wrote " + path + " (" + std::to_string(pw) + "x" + std::to_string(ph) + ") and " + sidecar_path_for(path),
         false);
}

void request_screenshot(const std::string& path, const std::string& target, int scale) {
  ScreenshotState& s = shot();
  set_path(path);
  s.target = target;
  s.scale = scale == 4 ? 4 : scale == 2 ? 2 : 1;
  s.pending = true;
}

const std::string& last_screenshot_message() { return shot().message; }

// ---------------------------------------------------------------- the dialog
void camera_tab_button(ViewContext& ctx) {
  ScreenshotState& s = shot();
  if (s.running) return;
  const bool clicked = ImGui::TabItemButton("     ##screenshot", ImGuiTabItemFlags_Trailing | ImGuiTabItemFlags_NoTooltip);
  // A camera drawn over the button (the body font has no camera glyph): body, lens, viewfinder bump.
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  const float em = ctx.ui.font_px, cx = (a.x + b.x) * 0.5f, cy = (a.y + b.y) * 0.5f + em * 0.05f;
  const ImU32 col = ImGui::GetColorU32(ImGuiCol_Text);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRect(ImVec2(cx - em * 0.5f, cy - em * 0.3f), ImVec2(cx + em * 0.5f, cy + em * 0.35f), col, em * 0.08f, 0,
              std::max(1.0f, em * 0.08f));
  dl->AddRectFilled(ImVec2(cx - em * 0.2f, cy - em * 0.42f), ImVec2(cx + em * 0.1f, cy - em * 0.3f), col);
  dl->AddCircle(ImVec2(cx, cy + em * 0.03f), em * 0.18f, col, 16, std::max(1.0f, em * 0.08f));
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Screenshot (F12): the window, a view or a figure, at 1×, 2× or 4×");
  if (clicked) s.dialog_requested = true;
}

void draw_screenshot_dialog(ViewContext& ctx) {
  ScreenshotState& s = shot();
  if (s.running) return;
  const float em = ctx.ui.font_px;
  // F12: capture now with the current settings (a fresh file name each time).
  if (ImGui::IsKeyPressed(GLFW_KEY_F12, false) && !ImGui::GetIO().WantTextInput) {
    set_path(default_screenshot_path());
    s.pending = true;
  }
  const char* name = "Screenshot";
  if (s.dialog_requested) {
    s.dialog_requested = false;
    set_path(default_screenshot_path());
    ImGui::OpenPopup(name);
  }
  if (ImGui::BeginPopupModal(name, nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    const auto targets = capture_targets(ctx.ui, ImGui::GetFrameCount());
    if (std::find(targets.begin(), targets.end(), s.target) == targets.end()) s.target = "window";
    ImGui::SetNextItemWidth(em * 16);
    if (ImGui::BeginCombo("what", s.target == "window" ? "the whole window" : s.target.c_str())) {
      for (const std::string& t : targets) {
        const ExportSource* src = find_source(t);
        const std::string label = t == "window" ? "the whole window"
                                  : t == "view" ? "this view (without tabs and status bar)"
                                  : src && !src->title.empty() ? t + "  (" + src->title + ")"
                                                               : t;
        if (ImGui::Selectable(label.c_str(), s.target == t)) s.target = t;
      }
      ImGui::EndCombo();
    }
    ImGui::TextUnformatted("scale");
    for (int k : {1, 2, 4}) {
      ImGui::SameLine();
      const std::string label = std::to_string(k) + "×";
      if (ImGui::RadioButton(label.c_str(), s.scale == k)) s.scale = k;
    }
    ImGui::SameLine();
    const ImGuiIO& io = ImGui::GetIO();
    const int fw = static_cast<int>(io.DisplaySize.x * io.DisplayFramebufferScale.x);
    const int fh = static_cast<int>(io.DisplaySize.y * io.DisplayFramebufferScale.y);
    ImGui::TextDisabled("(the window drawn at %d x %d px, text rasterised at that size)", fw * s.scale, fh * s.scale);
    ImGui::SetNextItemWidth(em * 36);
    ImGui::InputText("file", s.path.data(), s.path.size());
    ImGui::TextDisabled("a JSON sidecar is written beside it; attnscope render --config SIDECAR.json redraws it");
    if (ImGui::Button("Capture")) {
      s.pending = true;
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }
  // The last result, for a few seconds at the bottom right.
  if (!s.message.empty() && ImGui::GetTime() - s.message_time < 6.0) {
    const ImVec2 size = ImGui::GetIO().DisplaySize;
    ImGui::SetNextWindowPos(ImVec2(size.x - em * 0.5f, size.y - em * 2.2f), ImGuiCond_Always, ImVec2(1, 1));
    ImGui::SetNextWindowBgAlpha(0.9f);
    ImGui::Begin("##screenshot_result", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing |
                     ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoSavedSettings);
    if (s.message_is_error) ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 100, 255));
    // Wraps at 40 em, or half the window when that is narrower (large text on a small window).
    ImGui::PushTextWrapPos(std::min(em * 40, size.x * 0.5f));
    ImGui::TextUnformatted(s.message.c_str());
    ImGui::PopTextWrapPos();
    if (s.message_is_error) ImGui::PopStyleColor();
    ImGui::End();
  }
}

// ---------------------------------------------------------------- render's figure commands
std::string list_current_figures() {
  std::string out;
  for (const ExportSource* s : current_sources(ImGui::GetFrameCount())) {
    std::string formats;
    for (auto& e : export_extensions(*s)) formats += (formats.empty() ? "" : ", ") + e;
    out += s->id + "  " + s->title + "  (" + formats + ")\n";
  }
  return out;
}

std::string export_current_figure(const std::string& id, const std::string& path) {
  const ExportSource* source = find_source(id);
  if (!source || source->frame != ImGui::GetFrameCount()) {
    std::string list;
    for (const ExportSource* s : current_sources(ImGui::GetFrameCount())) list += (list.empty() ? "" : ", ") + s->id;
    return "--figure '" + id + "' is not shown in this view; figures here: " + (list.empty() ? "(none)" : list);
  }
  return export_source(*source, path);
}

}  // namespace attnscope::gui::capture
