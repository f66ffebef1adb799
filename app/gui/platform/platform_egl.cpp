// platform_egl.cpp — the headless Platform: EGL without any window system, an OpenGL 3.3 context and an
// offscreen framebuffer. Works on Mesa (llvmpipe, surfaceless) and on NVIDIA (EGL device platform).
//
// Display choice, first that initialises: a hardware EGL device (EXT_platform_device), Mesa's surfaceless
// platform, a software EGL device, then the default display. Context: 3.3 core, else 3.3 compatibility.
#include <glad/egl.h>
#include <glad/gl.h>
#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "app/gui/platform/platform.hpp"

namespace attnscope::gui {
namespace {

struct DisplayCandidate {
  EGLDisplay display;
  std::string label;
};

std::vector<DisplayCandidate> candidate_displays() {
  std::vector<DisplayCandidate> hardware, software, other;
  if (GLAD_EGL_EXT_platform_device && eglQueryDevicesEXT && eglGetPlatformDisplayEXT) {
    EGLDeviceEXT devices[16];
    EGLint count = 0;
    if (eglQueryDevicesEXT(16, devices, &count) && count > 0) {
      for (EGLint i = 0; i < count; ++i) {
        const char* ext = eglQueryDeviceStringEXT ? eglQueryDeviceStringEXT(devices[i], EGL_EXTENSIONS) : nullptr;
        const bool is_software = ext && std::strstr(ext, "EGL_MESA_device_software");
        EGLDisplay d = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr);
        if (d == EGL_NO_DISPLAY) continue;
        (is_software ? software : hardware).push_back({d, is_software ? "EGL software device" : "EGL device"});
      }
    }
  }
  if (GLAD_EGL_MESA_platform_surfaceless && eglGetPlatformDisplayEXT) {
    EGLDisplay d = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    if (d != EGL_NO_DISPLAY) other.push_back({d, "EGL surfaceless"});
  }
  std::vector<DisplayCandidate> all = hardware;
  all.insert(all.end(), other.begin(), other.end());
  all.insert(all.end(), software.begin(), software.end());
  EGLDisplay d = eglGetDisplay(EGL_DEFAULT_DISPLAY);
  if (d != EGL_NO_DISPLAY) all.push_back({d, "EGL default display"});
  return all;
}

class EglPlatform final : public Platform {
 public:
  EglPlatform(EGLDisplay display, EGLContext context, EGLSurface pbuffer, std::string label, int width, int height)
      : display_(display), context_(context), pbuffer_(pbuffer), label_(std::move(label)), width_(width), height_(height) {}

  bool create_framebuffer(std::string* error) {
    glGenFramebuffers(1, &fbo_);
    glGenRenderbuffers(1, &color_);
    glBindRenderbuffer(GL_RENDERBUFFER, color_);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, width_, height_);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, color_);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
      *error = "the offscreen framebuffer of " + std::to_string(width_) + "x" + std::to_string(height_) +
               " is not supported by " + gl_renderer() + " (try a smaller --size)";
      return false;
    }
    return true;
  }

  ~EglPlatform() override {
    if (fbo_) glDeleteFramebuffers(1, &fbo_);
    if (color_) glDeleteRenderbuffers(1, &color_);
    eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    if (pbuffer_ != EGL_NO_SURFACE) eglDestroySurface(display_, pbuffer_);
    eglDestroyContext(display_, context_);
    eglTerminate(display_);
  }

  std::string name() const override { return label_; }
  bool headless() const override { return true; }

  void imgui_init() override {
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(static_cast<float>(width_), static_cast<float>(height_));
    io.IniFilename = nullptr;  // a render must not depend on (or write) the user's saved layout
    last_ = std::chrono::steady_clock::now();
  }
  void imgui_new_frame() override {
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(static_cast<float>(width_), static_cast<float>(height_));
    io.DisplayFramebufferScale = ImVec2(1, 1);
    const auto now = std::chrono::steady_clock::now();
    io.DeltaTime = std::max(1e-4f, std::chrono::duration<float>(now - last_).count());
    last_ = now;
    io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);  // no pointer: nothing hovered
  }
  void imgui_shutdown() override {}
  bool should_close() const override { return false; }
  void bind_target() override {
    glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
    glViewport(0, 0, width_, height_);
  }
  // No swap paces an off-screen context: without a finish here a software renderer (llvmpipe) queues frame after
  // frame and draws them all later (read_pixels then waits for every queued frame) while taking the cores the
  // worker computes on. Finishing each frame keeps one frame in flight.
  void end_frame() override { glFinish(); }
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
    if (glGetError() != GL_NO_ERROR) return false;
    rgba.resize(bottom_up.size());
    // GL's first row is the bottom one; PNG's is the top.
    for (int y = 0; y < height_; ++y)
      std::memcpy(rgba.data() + row * y, bottom_up.data() + row * (height_ - 1 - y), row);
    return true;
  }

 private:
  EGLDisplay display_;
  EGLContext context_;
  EGLSurface pbuffer_;
  std::string label_;
  int width_, height_;
  GLuint fbo_ = 0, color_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// A 3.3 context on an initialised display; EGL_NO_CONTEXT when the display cannot make one.
EGLContext create_context(EGLDisplay display, EGLConfig* chosen, std::string* why) {
  if (!eglBindAPI(EGL_OPENGL_API)) { *why = "no desktop OpenGL API"; return EGL_NO_CONTEXT; }
  // We draw into our own framebuffer object, so any surface type will do; pbuffer-capable configs first
  // (the default EGL_WINDOW_BIT matches nothing on a surfaceless display).
  EGLint count = 0;
  for (EGLint surface_type : {EGL_PBUFFER_BIT, 0}) {
    const EGLint config_attribs[] = {EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
                                     EGL_SURFACE_TYPE, surface_type, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
    if (eglChooseConfig(display, config_attribs, chosen, 1, &count) && count >= 1) break;
    count = 0;
  }
  if (count < 1) {
    *why = "no RGBA8 OpenGL config";
    return EGL_NO_CONTEXT;
  }
  for (EGLint profile : {EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_CONTEXT_OPENGL_COMPATIBILITY_PROFILE_BIT}) {
    const EGLint ctx_attribs[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK, profile, EGL_NONE};
    EGLContext ctx = eglCreateContext(display, *chosen, EGL_NO_CONTEXT, ctx_attribs);
    if (ctx != EGL_NO_CONTEXT) return ctx;
  }
  *why = "no OpenGL 3.3 context (EGL error 0x" + [] { char b[16]; std::snprintf(b, sizeof b, "%04x", eglGetError()); return std::string(b); }() + ")";
  return EGL_NO_CONTEXT;
}

GLADapiproc egl_proc(const char* name) { return reinterpret_cast<GLADapiproc>(eglGetProcAddress(name)); }

}  // namespace

std::unique_ptr<Platform> create_headless_platform(int width, int height, std::string* error) {
  if (!gladLoaderLoadEGL(EGL_NO_DISPLAY)) {
    *error = "headless rendering needs EGL, and libEGL could not be loaded (install libegl1 and a driver: "
             "libegl-mesa0 for software rendering, or the NVIDIA driver)";
    return nullptr;
  }
  std::string attempts;
  for (auto& candidate : candidate_displays()) {
    EGLint major = 0, minor = 0;
    if (!eglInitialize(candidate.display, &major, &minor)) {
      attempts += "\n  " + candidate.label + ": eglInitialize failed";
      continue;
    }
    gladLoaderLoadEGL(candidate.display);  // display extensions (surfaceless_context)
    EGLConfig config{};
    std::string why;
    EGLContext ctx = create_context(candidate.display, &config, &why);
    if (ctx == EGL_NO_CONTEXT) {
      attempts += "\n  " + candidate.label + ": " + why;
      eglTerminate(candidate.display);
      continue;
    }
    EGLSurface pbuffer = EGL_NO_SURFACE;
    if (!GLAD_EGL_KHR_surfaceless_context) {  // then a tiny pbuffer makes the context current
      const EGLint pb_attribs[] = {EGL_WIDTH, 1, EGL_HEIGHT, 1, EGL_NONE};
      pbuffer = eglCreatePbufferSurface(candidate.display, config, pb_attribs);
    }
    if (!eglMakeCurrent(candidate.display, pbuffer, pbuffer, ctx)) {
      attempts += "\n  " + candidate.label + ": eglMakeCurrent failed";
      if (pbuffer != EGL_NO_SURFACE) eglDestroySurface(candidate.display, pbuffer);
      eglDestroyContext(candidate.display, ctx);
      eglTerminate(candidate.display);
      continue;
    }
    if (!gladLoadGL(egl_proc)) {
      attempts += "\n  " + candidate.label + ": OpenGL 3.3 functions could not be loaded";
      eglMakeCurrent(candidate.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      if (pbuffer != EGL_NO_SURFACE) eglDestroySurface(candidate.display, pbuffer);
      eglDestroyContext(candidate.display, ctx);
      eglTerminate(candidate.display);
      continue;
    }
    auto platform = std::make_unique<EglPlatform>(candidate.display, ctx, pbuffer, candidate.label, width, height);
    if (!platform->create_framebuffer(error)) return nullptr;
    return platform;
  }
  *error = "headless rendering failed: no EGL display gave an OpenGL 3.3 context" +
           (attempts.empty() ? std::string(" (no EGL display found)") : attempts) +
           "\n  install a driver with EGL (libegl-mesa0 for software rendering, or the NVIDIA driver)";
  return nullptr;
}

}  // namespace attnscope::gui
