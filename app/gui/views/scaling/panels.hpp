// panels.hpp — the Scaling mode's panels (one per file) and the helpers they share.
//   mode.cpp      the mode: takes task results, starts tasks, panel tabs; the tasks themselves
//   panel_sweep.cpp     the N sweep: time and memory against N (log-log), fitted slopes, marked points
//   panel_timing.cpp      each algorithm's median with min–max on the experiment; the history of runs
//   panel_memory.cpp      device memory used / free; what each algorithm allocated; the KV cache
//   panel_roofline.cpp    achieved FLOP/s against arithmetic intensity under the measured ceilings
#pragma once
#include <imgui.h>

#include <string>

#include "app/gui/shell/app.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_sweep_panel(ViewContext& ctx, ScalingViewState& view);
void draw_timing_panel(ViewContext& ctx, ScalingViewState& view);
void draw_memory_panel(ViewContext& ctx, ScalingViewState& view);
void draw_roofline_panel(ViewContext& ctx, ScalingViewState& view);

// (Re)starts the sweep with view.sweep_config; times the current experiment on every algorithm.
void start_sweep(ViewContext& ctx, ScalingViewState& view);
void start_timing(ViewContext& ctx, ScalingViewState& view);

// One colour per algorithm, the same in every panel.
ImU32 algorithm_color(Algorithm algorithm);
// The algorithm's name (or `text`) in its colour (a table cell's text).
void algorithm_label(Algorithm algorithm);
void algorithm_label(Algorithm algorithm, const std::string& text);
// A timing table's first cell: "flash fp32" in the algorithm's colour, "*" when its dtype was substituted; hover:
// the kernel that ran (RunResult::kernel) and why the experiment's dtype was refused.
void timing_label_cell(const AlgorithmTiming& timing, const AttentionSpec& experiment);
// A task's progress bar with its status text and (when the task checks for it) a Cancel button; false when the
// channel is idle.
bool task_progress(ViewContext& ctx, const char* channel, const char* cancel_id, bool cancellable = true);


}  // namespace attnscope::gui
