// panels.hpp — the FlashAttention mode's panels (one per file) and the few drawing helpers they share.
//   mode.cpp             the mode: toolbar (order, Br × Bc, row, play controls), worker task, layout
//   panel_tile_stream.cpp      device memory strips and one unit's on-chip tiles, replayed from the trace
//   panel_gantt.cpp            every CTA as a bar per SM / worker over time
//   panel_counters.cpp   bytes moved (cost model) and measured time, naive vs flash
//   panel_versions.cpp   FA-1, FA-2 and the FA-3 design timed on the same inputs (a tab beside the counters)
//   panel_sm_timeline.cpp      inside one SM: one CTA's warpgroups over time (a tab beside the counters)
//   panel_online_softmax.cpp   the probed row: scores per tile, m, l, rescale, ‖acc‖, exact vs kernel softmax
#pragma once
#include <imgui.h>

#include <cstdint>
#include <string>

#include "app/gui/shell/app.hpp"
#include "app/gui/views/flash/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

// What every panel of the mode needs for this frame.
struct FlashFrame {
  ViewContext& ctx;
  FlashViewState& view;
  const FlashViewResult& result;  // has_trace is true
  int64_t time_ns = 0;            // the replayed instant (clamped to the run)
  int32_t unit = 0;               // the unit the tile-stream panel follows
};

void draw_tile_stream_panel(FlashFrame& frame);
void draw_gantt_panel(FlashFrame& frame);
void draw_flash_counters_panel(FlashFrame& frame);
void draw_flash_versions_panel(FlashFrame& frame);
void draw_sm_timeline_panel(FlashFrame& frame);
void draw_online_softmax_panel(FlashFrame& frame);

// A unit's colour (SM / worker), distinct for neighbours; alpha 0..1.
ImU32 flash_unit_color(int32_t unit, float alpha = 1.0f, float value = 0.85f);
// Subscript digits: 12 -> "₁₂".
std::string subscript(int64_t value);
// 1-2-5 ticks over [0, end_ns] in the unit that reads best (ns, µs or ms); at most about max_ticks of them.
struct TimeTicks {
  double step_ns = 1, unit_ns = 1;
  const char* unit = "ns";
};
TimeTicks time_ticks(double end_ns, int max_ticks);
// A heading in the heading font, then a dimmed line (may be empty).
void flash_heading(ViewContext& ctx, const char* title, const std::string& detail);

}  // namespace attnscope::gui
