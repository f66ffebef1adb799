// panels.hpp — the Context parallel mode's panels (one per file) and what they share:
//   mode.cpp             the mode: the worker task, the replay clock, the layout
//   panel_controls.cpp   the shape (ranks, N, heads, KV heads, head dim, causal, link), the schedule toggle, play/step
//   panel_compare.cpp    plain vs zigzag: imbalance, makespan, transfer hidden, max |error| against one rank
//   panel_blocks.cpp     the N×N score matrix cut into chunk blocks, coloured by the rank computing each and
//                        labelled by step; skipped causal blocks shown as such; the replayed step lit
//   panel_ring_diagram.cpp  the ring of ranks with the K/V shards moving one hop per step
//   panel_timeline.cpp   per-rank timeline: compute, transfer, waiting and idle bars in ms, with a legend
#pragma once
#include <imgui.h>

#include "app/gui/shell/app.hpp"
#include "app/gui/views/ring/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui::ring {

// Golden-ratio hue steps: neighbouring ranks get clearly different hues.
ImU32 rank_color(int rank, float alpha = 1.0f);

inline void tooltip(const char* text) {
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", text);
}

// The schedule the toggle shows.
inline RingSchedule shown_schedule(const RingViewState& s) {
  return s.shown == RingShown::Zigzag ? RingSchedule::Zigzag : RingSchedule::Plain;
}

void draw_controls(ViewContext& ctx, RingViewState& s);
void draw_compare(ViewContext& ctx, const RingViewState& s);
void draw_blocks(ViewContext& ctx, const RingViewState& s);
void draw_ring_diagram(ViewContext& ctx, const RingViewState& s);
void draw_timeline(ViewContext& ctx, const RingViewState& s);

}  // namespace attnscope::gui::ring
