// panels.hpp — every panel's draw function (one panel per file) and the small widgets they share.
#pragma once
#include <imgui.h>

#include "app/gui/shell/app.hpp"

namespace attnscope::gui {

void draw_explore_mode(ViewContext& ctx);   // panel_explore.cpp: controls beside the heatmap
void draw_control_panel(ViewContext& ctx);  // panel_controls.cpp
void draw_heatmap_panel(ViewContext& ctx);  // panel_heatmap.cpp
void draw_status_bar(ViewContext& ctx);     // status_bar.cpp
void draw_flash_mode(ViewContext& ctx);     // mode_flash.cpp: tile streaming, Gantt, counters, online softmax
void draw_sparsity_mode(ViewContext& ctx);  // mode_sparsity.cpp: pattern editor, painted grid, A vs B
void draw_scaling_mode(ViewContext& ctx);   // mode_scaling.cpp: timing, memory, N sweep, roofline
void draw_kvcache_mode(ViewContext& ctx);   // panel_kvcache.cpp: the cache per layer, MHA/GQA/MQA, decode loop

// A form row: `label` in the left column (label_w wide), the next widget filling the rest of the row.
void row_label(const char* label, float label_w);
// A form row with an integer field and +/- buttons stepping by `step`; `tip` (may be null) on hover.
bool int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip);

// Text rotated 90° counter-clockwise (reads bottom to top), its baseline's start at `bottom_left`.
void draw_text_vertical(ImDrawList* list, ImVec2 bottom_left, ImU32 color, const char* text);
ImTextureID to_texture_id(uint32_t gl_texture);

}  // namespace attnscope::gui
