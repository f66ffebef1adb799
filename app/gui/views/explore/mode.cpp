// mode.cpp — the Explore mode: the control panel on the left, the heatmap filling the rest.
#include <imgui.h>

#include <algorithm>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/explore/panels.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

namespace {

// A lesson's or scene's zoom (fractions of the matrix: x across the keys, y down the queries), taken once the picture
// of the requested experiment is on screen, so it applies to that matrix and not to the one before.
void take_view_request(ViewContext& ctx) {
  ViewRequest& request = ctx.ui.view_request;
  if (request.mode != "Explore") return;
  const AppState& state = ctx.state;
  const bool current = ctx.ui.commands.empty() && state.shown && state.shown->generation == state.generation;
  if (request.zoom && current) {
    const auto& z = *request.zoom;
    const double n_q = static_cast<double>(state.shown->spec.q_len), n_k = static_cast<double>(state.shown->spec.kv_len);
    ctx.ui.heatmap_view.pending_zoom = WindowRequest{static_cast<int64_t>(z[1] * n_q), static_cast<int64_t>(z[0] * n_k),
                                                     static_cast<int64_t>(z[3] * n_q), static_cast<int64_t>(z[2] * n_k)};
    request.zoom.reset();
  }
  if (!request.zoom) request = ViewRequest{};  // both panels are always shown: nothing else to take
}

}  // namespace

void draw_explore_mode(ViewContext& ctx) {
  take_view_request(ctx);
  // 19 text heights (the fields' labels, the fields and their +/- buttons), but never more than 40% of the width:
  // with large presenter text the heatmap keeps room.
  const float controls_w = std::min(ctx.ui.font_px * 19.0f, ImGui::GetContentRegionAvail().x * 0.4f);
  ImGui::BeginChild("controls", ImVec2(controls_w, 0), true);
  draw_control_panel(ctx);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "controls");
  ImGui::SameLine();
  // The wheel zooms the picture, so the panel scrolls only by its scroll bar (shown when large text leaves the
  // picture's minimum size below the panel's bottom).
  ImGui::BeginChild("heatmap", ImVec2(0, 0), true, ImGuiWindowFlags_NoScrollWithMouse);
  draw_heatmap_panel(ctx);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "heatmap");
}

}  // namespace attnscope::gui
