// modes.hpp — every mode's entry point (views/<mode>/mode.cpp), the table App draws as tabs (kModes in app.cpp),
// and the status bar under them. A new mode adds its folder under views/, one line here and a row in kModes.
#pragma once

namespace attnscope::gui {

struct ViewContext;

void draw_explore_mode(ViewContext& ctx);   // views/explore: controls beside the heatmap
void draw_flash_mode(ViewContext& ctx);     // views/flash: tile streaming, Gantt, counters, online softmax
void draw_sparsity_mode(ViewContext& ctx);  // views/sparsity: pattern editor, painted grid, A vs B
void draw_scaling_mode(ViewContext& ctx);   // views/scaling: timing, memory, N sweep, roofline
void draw_kvcache_mode(ViewContext& ctx);   // views/kvcache: the cache per layer, MHA/GQA/MQA, decode loop
void draw_status_bar(ViewContext& ctx);     // shell/status_bar.cpp

}  // namespace attnscope::gui
