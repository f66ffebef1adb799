// panels.hpp — the Training mode's panels (one per file) and what they share.
//   mode.cpp                 the mode: takes task results, starts tasks, panel tabs
//   panel_memory.cpp         stacked bars of peak memory (forward-only, + saved, + backward) for naive and flash
//                            by category, beside the capacity the backend may use
//   panel_time.cpp           forward and backward time of naive and flash, and the cost model's FLOPs
//   panel_sweep.cpp          forward + backward time and peak memory against N (log-log), marked points
//   panel_backward_loop.cpp  the backward tile loop replayed from the trace: resident K/V tiles, dK/dV
//                            accumulating, dQ rows updated
#pragma once
#include <imgui.h>

#include "app/gui/shell/app.hpp"
#include "app/gui/views/training/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_training_memory_panel(ViewContext& ctx, TrainingViewState& view, float height);
void draw_training_time_panel(ViewContext& ctx, TrainingViewState& view);
void draw_training_sweep_panel(ViewContext& ctx, TrainingViewState& view);
void draw_backward_loop_panel(ViewContext& ctx, TrainingViewState& view);

void start_training_sweep(ViewContext& ctx, TrainingViewState& view);

// The colour of a memory category (index in memory_segments' order), the same in every panel.
ImU32 memory_category_color(int index);

}  // namespace attnscope::gui
