// platform_glfw.cpp — the interactive Platform: a GLFW window with an OpenGL 3.3 core context.
#include <glad/gl.h>
// glad first: GLFW must not pull in the system GL header.
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <imgui.h>

#include <algorithm>

#include "app/gui/platform/platform.hpp"

namespace attnscope::gui {
namespace {

std::string g_glfw_error;
void remember_glfw_error(int code, const char* description) {
  g_glfw_error = "GLFW error " + std::to_string(code) + ": " + (description ? description : "");
}

class GlfwPlatform final : public Platform {
 public:
  explicit GlfwPlatform(GLFWwindow* window) : window_(window) { remember_windowed(); }
  ~GlfwPlatform() override {
    glfwDestroyWindow(window_);
    glfwTerminate();
  }
  std::string name() const override { return "GLFW window"; }
  bool headless() const override { return false; }
  void imgui_init() override { ImGui_ImplGlfw_InitForOpenGL(window_, true); }
  void imgui_new_frame() override { ImGui_ImplGlfw_NewFrame(); }
  void imgui_shutdown() override { ImGui_ImplGlfw_Shutdown(); }
  bool should_close() const override { return glfwWindowShouldClose(window_) != 0; }
  void wait_events(double timeout_s) override { glfwWaitEventsTimeout(timeout_s); }
  void bind_target() override {
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glViewport(0, 0, framebuffer_width(), framebuffer_height());
  }
  void end_frame() override {
    glfwSwapBuffers(window_);
    remember_windowed();
  }
  int framebuffer_width() const override { int w, h; glfwGetFramebufferSize(window_, &w, &h); return w; }
  int framebuffer_height() const override { int w, h; glfwGetFramebufferSize(window_, &w, &h); return h; }
  float content_scale() const override {
    float x = 1, y = 1;
    glfwGetWindowContentScale(window_, &x, &y);
    return y > 0 ? y : 1.0f;
  }

  void set_fullscreen(bool on) override {
    if (on == is_fullscreen()) return;
    if (on) {
      remember_windowed();
      GLFWmonitor* monitor = current_monitor();
      const GLFWvidmode* mode = monitor ? glfwGetVideoMode(monitor) : nullptr;
      if (!mode) return;
      glfwSetWindowMonitor(window_, monitor, 0, 0, mode->width, mode->height, mode->refreshRate);
    } else {
      glfwSetWindowMonitor(window_, nullptr, windowed_.x >= 0 ? windowed_.x : 100, windowed_.y >= 0 ? windowed_.y : 100,
                           windowed_.width, windowed_.height, 0);
    }
    glfwSwapInterval(1);  // some drivers reset vsync when the window changes monitor
  }
  bool is_fullscreen() const override { return glfwGetWindowMonitor(window_) != nullptr; }
  bool placement(WindowPlacement& out) const override {
    out = windowed_;
    out.maximized = glfwGetWindowAttrib(window_, GLFW_MAXIMIZED) != 0;
    out.fullscreen = is_fullscreen();
    return true;
  }
  void apply_placement(const WindowPlacement& p) override {
    if (p.x >= 0 && p.y >= 0) glfwSetWindowPos(window_, p.x, p.y);
    glfwSetWindowSize(window_, p.width, p.height);
    remember_windowed();
    if (p.maximized) glfwMaximizeWindow(window_);
    if (p.fullscreen) set_fullscreen(true);
  }

 private:
  // The windowed position and size, updated only while the window is neither maximized nor full screen.
  void remember_windowed() {
    if (is_fullscreen() || glfwGetWindowAttrib(window_, GLFW_MAXIMIZED)) return;
    glfwGetWindowPos(window_, &windowed_.x, &windowed_.y);
    glfwGetWindowSize(window_, &windowed_.width, &windowed_.height);
    windowed_.x = std::max(windowed_.x, -1);  // a window partly off screen to the left is placed by the manager
    windowed_.y = std::max(windowed_.y, -1);
    windowed_.width = std::clamp(windowed_.width, 320, 16384);  // the settings file's limits
    windowed_.height = std::clamp(windowed_.height, 240, 16384);
  }
  // The monitor holding the window's centre (the primary one when none does).
  GLFWmonitor* current_monitor() const {
    int wx = 0, wy = 0, ww = 0, wh = 0;
    glfwGetWindowPos(window_, &wx, &wy);
    glfwGetWindowSize(window_, &ww, &wh);
    const int cx = wx + ww / 2, cy = wy + wh / 2;
    int count = 0;
    GLFWmonitor** monitors = glfwGetMonitors(&count);
    for (int i = 0; i < count; ++i) {
      int mx = 0, my = 0;
      glfwGetMonitorPos(monitors[i], &mx, &my);
      const GLFWvidmode* mode = glfwGetVideoMode(monitors[i]);
      if (mode && cx >= mx && cx < mx + mode->width && cy >= my && cy < my + mode->height) return monitors[i];
    }
    return glfwGetPrimaryMonitor();
  }

  GLFWwindow* window_;
  WindowPlacement windowed_;
};

}  // namespace

std::unique_ptr<Platform> create_window_platform(int width, int height, const std::string& title, std::string* error) {
  glfwSetErrorCallback(remember_glfw_error);
  if (!glfwInit()) {
    *error = "cannot open a window: GLFW could not initialise (" + g_glfw_error + ")";
    return nullptr;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  GLFWwindow* window = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (!window) {
    *error = "cannot open a window with OpenGL 3.3 (" + g_glfw_error + ")";
    glfwTerminate();
    return nullptr;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(1);  // vsync: the UI runs at the display's rate, not as fast as possible
  if (!gladLoadGL(reinterpret_cast<GLADloadfunc>(glfwGetProcAddress))) {
    *error = "the window's OpenGL context could not load OpenGL 3.3 functions";
    glfwDestroyWindow(window);
    glfwTerminate();
    return nullptr;
  }
  return std::make_unique<GlfwPlatform>(window);
}

}  // namespace attnscope::gui
