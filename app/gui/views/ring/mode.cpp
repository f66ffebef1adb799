// mode.cpp — the Context parallel mode: ring attention on simulated ranks. Left: the controls over plain vs zigzag;
// right: the score matrix by rank and step beside the ring of ranks, the per-rank timeline under them. The worker
// runs both schedules (tasks.cpp) whenever the shape changes; the replay clock steps round the ring.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

void take_result(ViewContext& ctx, RingViewState& s) {
  auto result = ctx.worker->take_task_result(kRingChannel);
  if (!result) return;
  if (s.asked_key == result->key) s.asked_key.clear();
  if (result->cancelled) return;
  s.result = std::move(*result);
}

void submit_if_changed(ViewContext& ctx, RingViewState& s) {
  s.problem = ring_request_problem(s.request);
  if (!s.problem.empty()) return;
  const std::string key = s.request.key();
  if ((s.result && s.result->key == key) || s.asked_key == key) return;
  s.asked_key = key;
  ctx.worker->submit_task(kRingChannel, [request = s.request](Backend& backend, TaskControl& control) -> RingViewResult {
    return compute_ring_view(
        backend, request,
        [&](double f, const std::string& status) {
          control.progress = f;
          control.set_status(status);
        },
        [&] { return control.cancel.load(); });
  });
}

int shown_ranks(const RingViewState& s) {
  return s.result && s.result->ok ? s.result->plain.run.plan.ranks : static_cast<int>(s.request.ranks);
}

// At speed 1 a step takes kStepSeconds; after the last step the replay holds half a step, then starts again.
void advance_clock(RingViewState& s) {
  const double W = shown_ranks(s);
  if (s.playing) {
    s.position += ImGui::GetIO().DeltaTime / RingViewState::kStepSeconds;
    if (s.position > W + 0.5) s.position = 0;
  }
  s.position = std::clamp(s.position, 0.0, W + 0.5);
}

void handle_keys(RingViewState& s) {
  if (ImGui::GetIO().WantTextInput) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false)) s.playing = !s.playing;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow))) {
    s.playing = false;
    s.position = std::max(0.0, std::ceil(s.position) - 1.0);
  }
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) {
    s.playing = false;
    s.position = std::min(static_cast<double>(shown_ranks(s)), std::floor(s.position) + 1.0);
  }
}

}  // namespace

void draw_ring_mode(ViewContext& ctx) {
  RingViewState& s = ctx.ui.ring_view;
  if (ctx.ui.view_request.mode == "Context parallel") {
    if (const auto at = ctx.ui.view_request.animation) {  // a lesson's or scene's replay position, paused there
      s.playing = false;
      s.position = *at * shown_ranks(s);
    }
    ctx.ui.view_request = ViewRequest{};
  }
  if (ctx.worker) {
    take_result(ctx, s);
    submit_if_changed(ctx, s);
  }
  advance_clock(s);
  ctx.ui.animating = ctx.ui.animating || s.playing;
  if (!ctx.ui.lesson.open()) handle_keys(s);

  const float em = ImGui::GetFontSize();
  const ImVec2 area = begin_panel_area("ring_panels", ImVec2(em * 50, em * 30));
  const float gap = ImGui::GetStyle().ItemSpacing.x, vgap = ImGui::GetStyle().ItemSpacing.y;
  const ImGuiStyle& style = ImGui::GetStyle();
  const float left_w = em * 19.5f;
  // The comparison: its heading and a table of a header and four rows.
  const float compare_h = em * 1.5f + style.ItemSpacing.y + 5 * (ImGui::GetTextLineHeight() + 2 * style.CellPadding.y) +
                          2 * style.WindowPadding.y + em * 0.5f;
  ImGui::BeginGroup();
  ImGui::BeginChild("ring_controls", ImVec2(left_w, area.y - compare_h - vgap), true);
  ring::draw_controls(ctx, s);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "ring-controls");
  ImGui::BeginChild("ring_compare", ImVec2(left_w, compare_h), true);
  ring::draw_compare(ctx, s);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "ring-compare");
  ImGui::EndGroup();
  ImGui::SameLine(0, gap);

  // Right: matrix and ring on top, the timeline under them.
  const float right_w = area.x - left_w - gap;
  const float timeline_h = std::max(em * 12.5f, area.y * 0.42f);
  const float top_h = area.y - timeline_h - vgap;
  const float matrix_w = std::min(right_w * 0.5f, top_h + em * 1.5f);
  ImGui::BeginGroup();
  ImGui::BeginChild("ring_blocks", ImVec2(matrix_w, top_h), true, ImGuiWindowFlags_NoScrollbar);
  ring::draw_blocks(ctx, s);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "ring-blocks");
  ImGui::SameLine(0, gap);
  ImGui::BeginChild("ring_diagram", ImVec2(right_w - matrix_w - gap, top_h), true, ImGuiWindowFlags_NoScrollbar);
  ring::draw_ring_diagram(ctx, s);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "ring-diagram");
  ImGui::BeginChild("ring_timeline", ImVec2(right_w, timeline_h), true, ImGuiWindowFlags_NoScrollbar);
  ring::draw_timeline(ctx, s);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "ring-timeline");
  ImGui::EndGroup();
  end_panel_area();
}

}  // namespace attnscope::gui
