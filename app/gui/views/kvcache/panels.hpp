// panels.hpp — the KV cache mode's panels (one per file) and what they share:
//   mode.cpp                 the mode: the task, the generation clock and its keys, the layout
//   panel_controls.cpp       two toolbar rows: model preset or custom shape, dtype; context, page size, batch, free
//                            memory, the loop's tokens
//   panel_comparison.cpp     MHA vs GQA vs MQA: bytes per token, cache at L, sequences that fit, floor per token, and
//                            what the loop measured (time per token against its floor, achieved bandwidth, memory)
//   panel_dtypes.cpp         fp16 vs fp8 vs int8 on the GQA layout: bytes per token, sequences that fit, time per
//                            token and the output error against fp16
//   panel_fill.cpp           every layer's K and V as tokens are generated (play / step), and the last pages
//   panel_plots.cpp          measured decode time per token and achieved bandwidth against the cost model's floor;
//                            one shared legend above them (outside the data areas)
#pragma once
#include <imgui.h>

#include <algorithm>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/views/kvcache/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui::kv {

// MHA, GQA and MQA take the plot palette's first three colours (sky blue, orange, bluish green): the table's
// column heads, the cache picture and the plots use the same colour for the same layout.
inline ImU32 layout_color(int i) { return plot::GetStyle().palette[std::clamp(i, 0, 2)]; }
inline ImVec4 layout_color_v4(int i) { return ImGui::ColorConvertU32ToFloat4(layout_color(i)); }
// Cache cells: allocated but not yet written, and not allocated; both apart from every layout colour. These and
// the texts follow the theme (presenter/palette.hpp).
inline ImU32 allocated_color() { return palette().allocated_cell; }
inline ImU32 empty_color() { return palette().empty_cell; }
inline ImU32 muted_text() { return palette().text_muted; }
inline ImU32 text_color() { return palette().text; }
inline ScreenPoint screen(ImVec2 v) { return {v.x, v.y}; }

// Cache elements in the picture and the dtype table: fp16 in the drawn layout's colour (the picture as it was),
// fp8 reddish purple and int8 yellow (the palette's 4th and 5th, apart from every layout colour).
inline ImU32 dtype_color(KvDtype t, int layout) {
  if (t == KvDtype::Fp8E4M3) return plot::GetStyle().palette[3];
  if (t == KvDtype::Int8) return plot::GetStyle().palette[4];
  return layout_color(layout);
}

inline ImU32 ceiling_color() { return plot::GetStyle().palette[7]; }  // copy bandwidth and floors' legend swatch

inline void tooltip(const char* text) {
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", text);
}

// The generation clock one token forward (+1) or back (-1); pauses the playback (mode.cpp).
void step_tokens(KvViewState& s, int direction);

void draw_controls(ViewContext& ctx, KvViewState& s);
void draw_comparison(ViewContext& ctx, KvViewState& s, double free_bytes, float width);
void draw_dtype_comparison(ViewContext& ctx, KvViewState& s, double free_bytes, float width);
void draw_fill(ViewContext& ctx, KvViewState& s, ImVec2 size);
void draw_plots(ViewContext& ctx, KvViewState& s, ImVec2 size);

}  // namespace attnscope::gui::kv
