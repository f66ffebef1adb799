// highlight.cpp — a lesson's highlighted element on the foreground draw list, after every view has drawn: an
// outline (thick, high contrast: a dark band under a bright one, visible on light and dark panels alike) or a
// spotlight (the rest of the window dimmed, the lesson pane left readable, and the outline). The element's place
// comes from UiState::element_rects, which the panels record each frame.
#include <imgui.h>

#include <algorithm>

#include "app/gui/shell/modes.hpp"
#include "app/gui/shell/app.hpp"

namespace attnscope::gui {

void draw_highlight(const ViewContext& ctx) {
  const UiState& ui = ctx.ui;
  if (ui.highlight.empty()) return;
  auto it = ui.element_rects.find(ui.highlight);
  if (it == ui.element_rects.end() || it->second.w <= 0 || it->second.h <= 0) return;
  const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
  const float sx = scale.x > 0 ? scale.x : 1.0f, sy = scale.y > 0 ? scale.y : 1.0f;
  const ImVec2 p0(it->second.x / sx, it->second.y / sy);
  const ImVec2 p1(p0.x + it->second.w / sx, p0.y + it->second.h / sy);
  ImDrawList* list = ImGui::GetForegroundDrawList();
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  const ImVec2 v0 = viewport->Pos, v1(viewport->Pos.x + viewport->Size.x, viewport->Pos.y + viewport->Size.y);
  const float thick = std::max(3.0f, ui.font_px * 0.22f);

  if (ui.highlight_mode == HighlightMode::Spotlight) {
    // Dim everything but the element and the lesson pane (which explains it).
    const ImU32 dim = IM_COL32(0, 0, 0, 150);
    const auto pane = ui.element_rects.find("narration");
    const float pane_right = pane != ui.element_rects.end() && ui.highlight != "narration"
                                 ? (pane->second.x + pane->second.w) / sx
                                 : v0.x;
    const float left = std::max(v0.x, pane_right);
    list->AddRectFilled(ImVec2(left, v0.y), ImVec2(v1.x, p0.y), dim);                        // above
    list->AddRectFilled(ImVec2(left, p1.y), ImVec2(v1.x, v1.y), dim);                        // below
    list->AddRectFilled(ImVec2(left, p0.y), ImVec2(std::max(left, p0.x), p1.y), dim);        // left
    list->AddRectFilled(ImVec2(std::max(left, p1.x), p0.y), ImVec2(v1.x, p1.y), dim);        // right
  }
  // Around the element, not over its content: outside its edge, kept inside the window.
  const float out = thick * 0.5f + 1.0f;
  const ImVec2 a(std::max(v0.x + out, p0.x - out), std::max(v0.y + out, p0.y - out));
  const ImVec2 b(std::min(v1.x - out, p1.x + out), std::min(v1.y - out, p1.y + out));
  list->AddRect(a, b, IM_COL32(0, 0, 0, 230), 4.0f, 0, thick * 1.8f);
  list->AddRect(a, b, IM_COL32(255, 200, 40, 255), 4.0f, 0, thick);
}

}  // namespace attnscope::gui
