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
void draw_training_mode(ViewContext& ctx);  // views/training: training vs inference memory and time, sweep, backward loop
void draw_beyond_mode(ViewContext& ctx);    // views/beyond: linear attention and scans against attention, a layer's parts
void draw_ring_mode(ViewContext& ctx);       // views/ring: ring attention on simulated ranks, plain vs zigzag
void draw_lessons_mode(ViewContext& ctx);    // views/lesson: the lessons folder, each lesson with an Open button
void draw_status_bar(ViewContext& ctx);     // shell/status_bar.cpp

// views/lesson: while a lesson is open, its narration pane beside the modes. begin_lesson_frame applies the step,
// takes its run's result and keys, draws the pane and opens the body the modes draw in (true: call
// end_lesson_frame(true) after them); `status_h` is the height left below for the status bar.
bool begin_lesson_frame(ViewContext& ctx, float status_h);
void end_lesson_frame(bool began);
// shell/highlight.cpp: the lesson's highlighted element (UiState::highlight, found in element_rects) outlined or
// spotlit on the foreground draw list; nothing when the element was not drawn this frame.
void draw_highlight(const ViewContext& ctx);
}  // namespace attnscope::gui
