// platform_common.cpp — Platform defaults shared by the window and headless backends.
#include <glad/gl.h>

#include <cstdlib>

#include "app/gui/platform/platform.hpp"

namespace attnscope::gui {

std::string Platform::gl_renderer() const {
  const auto* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  return renderer ? renderer : "unknown renderer";
}

bool Platform::read_pixels(std::vector<uint8_t>&, int&, int&) { return false; }

bool display_available() {
  const char* x11 = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (x11 && *x11) || (wayland && *wayland);
}

}  // namespace attnscope::gui
