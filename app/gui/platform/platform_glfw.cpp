// platform_glfw.cpp — the interactive Platform: a GLFW window with an OpenGL 3.3 core context.
#include <glad/gl.h>
// glad first: GLFW must not pull in the system GL header.
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <imgui.h>

#include "app/gui/platform/platform.hpp"

namespace attnscope::gui {
namespace {

std::string g_glfw_error;
void remember_glfw_error(int code, const char* description) {
  g_glfw_error = "GLFW error " + std::to_string(code) + ": " + (description ? description : "");
}

class GlfwPlatform final : public Platform {
 public:
  explicit GlfwPlatform(GLFWwindow* window) : window_(window) {}
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
  void end_frame() override { glfwSwapBuffers(window_); }
  int framebuffer_width() const override { int w, h; glfwGetFramebufferSize(window_, &w, &h); return w; }
  int framebuffer_height() const override { int w, h; glfwGetFramebufferSize(window_, &w, &h); return h; }
  float content_scale() const override {
    float x = 1, y = 1;
    glfwGetWindowContentScale(window_, &x, &y);
    return y > 0 ? y : 1.0f;
  }

 private:
  GLFWwindow* window_;
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
