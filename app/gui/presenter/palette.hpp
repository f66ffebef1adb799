// palette.hpp — every colour that changes with the theme, in one place: the window, ImGui's panels, plots and the
// colours views draw with themselves (cell grids, tile boxes, outlines, the replay's "now" marker, error and
// warning text). Two palettes: dark high-contrast (the projector) and light (print, articles). No ImGui here
// (models library): colours are packed as ImGui's IM_COL32 packs them, 0xAABBGGRR, so views use them as ImU32.
//
//   const Palette& p = palette();   // the current theme's colours (set_palette_theme switches it)
//   dl->AddRect(a, b, p.outline);
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "core/settings.hpp"

namespace attnscope::gui {

using PackedColor = uint32_t;  // 0xAABBGGRR (IM_COL32)
constexpr PackedColor pack_rgba(uint32_t r, uint32_t g, uint32_t b, uint32_t a = 255) {
  return (a << 24) | (b << 16) | (g << 8) | r;
}
constexpr uint32_t channel(PackedColor c, int i) { return (c >> (8 * i)) & 0xFF; }  // 0 r, 1 g, 2 b, 3 a

struct Palette {
  // The window and ImGui's widgets.
  PackedColor window_bg;      // the clear colour and ImGui's window background
  PackedColor child_bg;       // panels inside the window (a shade off the window)
  PackedColor frame_bg;       // input fields, sliders
  PackedColor button;         // buttons and tabs at rest
  PackedColor button_hover;
  PackedColor accent;         // selected tab, checked box, slider grab, active button
  PackedColor text;           // body text: contrast >= 7:1 on window_bg (WCAG AAA)
  PackedColor text_muted;     // labels, units: >= 4.5:1
  PackedColor separator;
  // Plots (plot::PlotStyle) and drawn panels.
  PackedColor plot_bg;        // a plot's or a drawn panel's data area
  PackedColor plot_border;
  PackedColor grid_major;
  PackedColor grid_minor;
  PackedColor legend_bg;
  PackedColor cell_divider;   // thin lines between cells and tiles drawn on coloured cells
  PackedColor tile_fill;      // an idle tile box (FlashAttention's tile stream)
  PackedColor empty_cell;     // an empty slot (KV cache pages not yet filled)
  PackedColor allocated_cell; // allocated but unused slots
  PackedColor outline;        // the highlighted cell/tile/page: white on dark, black on light
  PackedColor now_marker;     // the replay's current-time line, the current element
  PackedColor text_on_plot;   // text drawn over plot_bg
  // Messages.
  PackedColor error_text;     // >= 4.5:1 on window_bg
  PackedColor warning_text;   // >= 4.5:1 on window_bg ("computing…", "reduced for tracing")
  PackedColor spotlight;      // the pointer spotlight's ring (projectors)
};

const Palette& palette_for(Theme theme);
// The current theme's palette (process-wide, like plot::GetStyle(); the UI thread only).
const Palette& palette();
Theme palette_theme();
void set_palette_theme(Theme theme);

// Every field by name, for tests and for a complete ImGui/plot mapping.
std::vector<std::pair<const char*, PackedColor Palette::*>> palette_fields();

// WCAG 2 contrast ratio of two colours (1 .. 21), alpha ignored.
double contrast_ratio(PackedColor a, PackedColor b);

}  // namespace attnscope::gui
