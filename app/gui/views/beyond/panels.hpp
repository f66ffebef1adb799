// panels.hpp — the "Beyond attention" mode's panels (one per file) and what they share.
//   mode.cpp                 takes task results, starts each panel's task when it is first shown, the panel tabs
//   panel_sweep.cpp          time and memory against N (log-log): five kinds, fitted slopes, crossovers marked
//   panel_layer.cpp          one block's parts against N: shares stacked, times, attention overtaking the MLP
//   panel_decode.cpp         decode time per token against context; state size against KV-cache size
//   panel_approximation.cpp  the softmax map beside the linear-attention map, the outputs' difference
#pragma once
#include <imgui.h>

#include "app/gui/shell/app.hpp"
#include "app/gui/views/beyond/model.hpp"

namespace attnscope::gui {

void draw_beyond_sweep_panel(ViewContext& ctx, BeyondViewState& view);
void draw_beyond_layer_panel(ViewContext& ctx, BeyondViewState& view);
void draw_beyond_decode_panel(ViewContext& ctx, BeyondViewState& view);
void draw_beyond_approximation_panel(ViewContext& ctx, BeyondViewState& view);

void start_beyond_sweep(ViewContext& ctx, BeyondViewState& view);
void start_beyond_layer(ViewContext& ctx, BeyondViewState& view);
void start_beyond_decode(ViewContext& ctx, BeyondViewState& view);
void start_beyond_approximation(ViewContext& ctx, BeyondViewState& view);

// One colour per kind, the same in every panel (naive, flash and the window as the Scaling mode draws them).
ImU32 beyond_kind_color(BeyondKind kind);
// One colour per part of the block (kLayerParts' order).
ImU32 layer_part_color(int part);
// The model preset picker (the block, the decode shapes); true when it changed (the panels' tasks are restarted).
bool beyond_preset_combo(ViewContext& ctx, BeyondViewState& view);
// A task's progress bar with its status and a Cancel button; false when the channel is idle (its error, if any).
bool beyond_task_progress(ViewContext& ctx, const char* channel, const char* cancel_id);
// A vertical dashed line at x across the current plot's y range [y0, y1], with a label at its top.
void plot_vertical_marker(const char* id, double x, double y0, double y1, ImU32 color, const char* text);

}  // namespace attnscope::gui
