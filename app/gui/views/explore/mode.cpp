// mode.cpp — the Explore mode: the control panel on the left, the heatmap filling the rest.
#include <imgui.h>

#include <algorithm>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/explore/panels.hpp"

namespace attnscope::gui {

void draw_explore_mode(ViewContext& ctx) {
  // 19 text heights, but never more than a third of the width: with large presenter text the heatmap keeps room.
  const float controls_w = std::min(ctx.ui.font_px * 19.0f, ImGui::GetContentRegionAvail().x * 0.33f);
  ImGui::BeginChild("controls", ImVec2(controls_w, 0), true);
  draw_control_panel(ctx);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("heatmap", ImVec2(0, 0), true, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  draw_heatmap_panel(ctx);
  ImGui::EndChild();
}

}  // namespace attnscope::gui
