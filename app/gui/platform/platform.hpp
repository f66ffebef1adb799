// platform.hpp — where frames go: an interactive GLFW window or a headless EGL context with an offscreen
// framebuffer, behind one interface chosen at run time (Polyscope's habit). Both run the same UI code:
// the App only calls these methods, so every view can be rendered to PNG by tests and for articles.
//
// Lifecycle (symmetric): create_* -> [imgui_init] -> { begin_frame ... render ... end_frame }* ->
// imgui_shutdown -> destroy.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.hpp"

namespace attnscope::gui {

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string name() const = 0;        // "GLFW window" / "EGL headless (surfaceless)"
  virtual std::string gl_renderer() const;     // GL_RENDERER of the current context
  virtual bool headless() const = 0;

  // Dear ImGui's platform side (the OpenGL3 renderer backend is shared and owned by the App).
  virtual void imgui_init() = 0;
  virtual void imgui_new_frame() = 0;          // display size, delta time, input
  virtual void imgui_shutdown() = 0;

  virtual bool should_close() const = 0;
  virtual void wait_events(double) {}          // interactive: sleep until input or timeout
  virtual void bind_target() = 0;              // framebuffer the UI draws into, with the viewport set
  virtual void end_frame() = 0;                // swap (window) or nothing (headless)
  virtual int framebuffer_width() const = 0;
  virtual int framebuffer_height() const = 0;
  virtual float content_scale() const { return 1.0f; }  // monitor DPI scale (window only)

  // Full screen on the monitor the window is on (F11), and back to the window's previous place and size.
  // Headless: no-op, never full screen.
  virtual void set_fullscreen(bool) {}
  virtual bool is_fullscreen() const { return false; }
  // Where the window is (its windowed position and size even while maximized or full screen, so they can be
  // restored), and putting it there at start-up. Headless: false / no-op.
  virtual bool placement(WindowPlacement&) const { return false; }
  virtual void apply_placement(const WindowPlacement&) {}

  // The last drawn frame, top row first, RGBA8. Headless only; false with no frame.
  virtual bool read_pixels(std::vector<uint8_t>& rgba, int& width, int& height);
};

// nullptr with `error` set (naming the problem and what to do) when no window can be opened.
std::unique_ptr<Platform> create_window_platform(int width, int height, const std::string& title, std::string* error);
// nullptr with `error` set when EGL or an OpenGL 3.3 context is unavailable.
std::unique_ptr<Platform> create_headless_platform(int width, int height, std::string* error);

// True when a display server is named in the environment (DISPLAY or WAYLAND_DISPLAY).
bool display_available();

}  // namespace attnscope::gui
