// keys_glfw.hpp — the key table's keys as the window reports them. Dear ImGui 1.86 indexes io.KeysDown by the
// platform backend's key codes (GLFW's for the window), so this is the one place that knows them.
#pragma once
#include "app/gui/presenter/key_bindings.hpp"

namespace attnscope::gui {

int glfw_key_code(Key key);

}  // namespace attnscope::gui
