// theme.hpp — the current theme's colours in the forms views draw with (ImU32 for draw lists, ImVec4 for
// ImGui::TextColored). The colours themselves live in palette.hpp.
#pragma once
#include <imgui.h>

#include "app/gui/presenter/palette.hpp"

namespace attnscope::gui {

inline ImVec4 error_color() { return ImGui::ColorConvertU32ToFloat4(palette().error_text); }
inline ImVec4 warning_color() { return ImGui::ColorConvertU32ToFloat4(palette().warning_text); }
// `c` with its alpha replaced (0..255).
inline ImU32 with_alpha(ImU32 c, unsigned alpha) { return (c & 0x00FFFFFFu) | (static_cast<ImU32>(alpha) << 24); }

}  // namespace attnscope::gui
