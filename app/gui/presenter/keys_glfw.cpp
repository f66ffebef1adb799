// keys_glfw.cpp — see keys_glfw.hpp.
#include "app/gui/presenter/keys_glfw.hpp"

#include <GLFW/glfw3.h>

namespace attnscope::gui {

int glfw_key_code(Key key) {
  switch (key) {
    case Key::F1: return GLFW_KEY_F1;
    case Key::F11: return GLFW_KEY_F11;
    case Key::F12: return GLFW_KEY_F12;
    case Key::S: return GLFW_KEY_S;
    case Key::O: return GLFW_KEY_O;
    case Key::Z: return GLFW_KEY_Z;
    case Key::L: return GLFW_KEY_L;
    case Key::Equal: return GLFW_KEY_EQUAL;
    case Key::Minus: return GLFW_KEY_MINUS;
    case Key::Num0: return GLFW_KEY_0;
    case Key::KeypadAdd: return GLFW_KEY_KP_ADD;
    case Key::KeypadSubtract: return GLFW_KEY_KP_SUBTRACT;
    case Key::Keypad0: return GLFW_KEY_KP_0;
    case Key::Space: return GLFW_KEY_SPACE;
    case Key::Left: return GLFW_KEY_LEFT;
    case Key::Right: return GLFW_KEY_RIGHT;
    case Key::Escape: return GLFW_KEY_ESCAPE;
    case Key::PageDown: return GLFW_KEY_PAGE_DOWN;
    case Key::PageUp: return GLFW_KEY_PAGE_UP;
  }
  return -1;
}

}  // namespace attnscope::gui
