// palette.cpp — the two themes' colours (see palette.hpp). Dark: near-black background, near-white text (contrast
// about 17:1), saturated accents that stay readable on a projector. Light: white background, near-black text, the
// accents darkened until they keep 4.5:1 on white, so a printed figure reads the same.
#include "app/gui/presenter/palette.hpp"

#include <algorithm>
#include <cmath>

namespace attnscope::gui {
namespace {

constexpr Palette kDark{
    .window_bg = pack_rgba(16, 17, 20),
    .child_bg = pack_rgba(22, 24, 28),
    .frame_bg = pack_rgba(44, 48, 58),
    .button = pack_rgba(46, 72, 112),
    .button_hover = pack_rgba(62, 98, 150),
    .accent = pack_rgba(86, 160, 235),
    .text = pack_rgba(240, 240, 244),
    .text_muted = pack_rgba(170, 172, 180),
    .separator = pack_rgba(90, 92, 104),
    .plot_bg = pack_rgba(22, 24, 28),
    .plot_border = pack_rgba(110, 110, 120),
    .grid_major = pack_rgba(255, 255, 255, 38),
    .grid_minor = pack_rgba(255, 255, 255, 14),
    .legend_bg = pack_rgba(16, 17, 20, 215),
    .cell_divider = pack_rgba(15, 16, 20, 160),
    .tile_fill = pack_rgba(52, 58, 70),
    .empty_cell = pack_rgba(38, 41, 48),
    .allocated_cell = pack_rgba(118, 122, 134),
    .outline = pack_rgba(255, 255, 255, 235),
    .now_marker = pack_rgba(250, 220, 60),
    .text_on_plot = pack_rgba(235, 235, 240),
    .error_text = pack_rgba(255, 115, 102),
    .warning_text = pack_rgba(255, 204, 77),
    .spotlight = pack_rgba(255, 230, 40, 235),
};

constexpr Palette kLight{
    .window_bg = pack_rgba(255, 255, 255),
    .child_bg = pack_rgba(246, 246, 248),
    .frame_bg = pack_rgba(228, 230, 236),
    .button = pack_rgba(200, 216, 240),
    .button_hover = pack_rgba(170, 196, 234),
    .accent = pack_rgba(0, 90, 180),
    .text = pack_rgba(12, 12, 16),
    .text_muted = pack_rgba(84, 86, 96),
    .separator = pack_rgba(160, 162, 172),
    .plot_bg = pack_rgba(255, 255, 255),
    .plot_border = pack_rgba(60, 60, 70),
    .grid_major = pack_rgba(0, 0, 0, 40),
    .grid_minor = pack_rgba(0, 0, 0, 16),
    .legend_bg = pack_rgba(255, 255, 255, 225),
    .cell_divider = pack_rgba(255, 255, 255, 170),
    .tile_fill = pack_rgba(214, 220, 232),
    .empty_cell = pack_rgba(236, 238, 242),
    .allocated_cell = pack_rgba(150, 156, 170),
    .outline = pack_rgba(0, 0, 0, 235),
    .now_marker = pack_rgba(200, 80, 0),
    .text_on_plot = pack_rgba(12, 12, 16),
    .error_text = pack_rgba(190, 30, 20),
    .warning_text = pack_rgba(150, 90, 0),
    .spotlight = pack_rgba(230, 0, 120, 235),
};

Theme g_theme = Theme::Dark;

double relative_luminance(PackedColor c) {
  auto lin = [](uint32_t v) {
    const double x = v / 255.0;
    return x <= 0.04045 ? x / 12.92 : std::pow((x + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(channel(c, 0)) + 0.7152 * lin(channel(c, 1)) + 0.0722 * lin(channel(c, 2));
}

}  // namespace

const Palette& palette_for(Theme theme) { return theme == Theme::Light ? kLight : kDark; }
const Palette& palette() { return palette_for(g_theme); }
Theme palette_theme() { return g_theme; }
void set_palette_theme(Theme theme) { g_theme = theme; }

std::vector<std::pair<const char*, PackedColor Palette::*>> palette_fields() {
  return {{"window_bg", &Palette::window_bg},       {"child_bg", &Palette::child_bg},
          {"frame_bg", &Palette::frame_bg},         {"button", &Palette::button},
          {"button_hover", &Palette::button_hover}, {"accent", &Palette::accent},
          {"text", &Palette::text},                 {"text_muted", &Palette::text_muted},
          {"separator", &Palette::separator},       {"plot_bg", &Palette::plot_bg},
          {"plot_border", &Palette::plot_border},   {"grid_major", &Palette::grid_major},
          {"grid_minor", &Palette::grid_minor},     {"legend_bg", &Palette::legend_bg},
          {"cell_divider", &Palette::cell_divider}, {"tile_fill", &Palette::tile_fill},
          {"empty_cell", &Palette::empty_cell},     {"allocated_cell", &Palette::allocated_cell},
          {"outline", &Palette::outline},           {"now_marker", &Palette::now_marker},
          {"text_on_plot", &Palette::text_on_plot}, {"error_text", &Palette::error_text},
          {"warning_text", &Palette::warning_text}, {"spotlight", &Palette::spotlight}};
}

double contrast_ratio(PackedColor a, PackedColor b) {
  const double la = relative_luminance(a), lb = relative_luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

}  // namespace attnscope::gui
