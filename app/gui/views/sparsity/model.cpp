// model.cpp — the Sparsity mode's model (no GL, no ImGui): the key of what the worker computed for a pattern, and
// the colours and caption of its mask pictures.
// (Patterns and the painted grid: shell/pattern; the computation itself: tasks.cpp.)
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/views/sparsity/model.hpp"
#include "app/gui/views/explore/model.hpp"
#include "app/gui/gl/heatmap_gl.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {

std::string pattern_key(const AttentionSpec& spec, const TileConfig& tiles, bool measure) {
  return spec.summary() + "|" + spec.mask.to_string() + "|" + std::to_string(tiles.br) + "x" +
         std::to_string(tiles.bc) + (measure ? "|measured" : "");
}

namespace {
uint8_t channel(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }
}  // namespace

Rgba8 mask_share_color(double share, const std::vector<Rgba8>& colormap) {
  const Rgba8 masked = HeatmapGl::kMaskedColor;
  if (colormap.empty() || !(share > 0)) return masked;
  const Rgba8& top = colormap.back();
  const double f = std::min(share, 1.0);
  Rgba8 c{};
  for (int i = 0; i < 3; ++i) c[i] = channel(masked[i] + f * (top[i] - masked[i]));
  c[3] = 255;
  return c;
}

Rgba8 thumbnail_color(double share, TileKind kind, const std::vector<Rgba8>& colormap) {
  const Rgba8 base = mask_share_color(share, colormap), tint = block_overlay_color(kind);
  const double alpha = tint[3] / 255.0;
  Rgba8 c{};
  for (int i = 0; i < 3; ++i) c[i] = channel(tint[i] * alpha + base[i] * (1.0 - alpha));
  c[3] = 255;
  return c;
}

Rgba8 legend_swatch_color(TileKind kind, const std::vector<Rgba8>& colormap) {
  const double share = kind == TileKind::Empty ? 0.0 : kind == TileKind::Partial ? 0.5 : 1.0;
  return thumbnail_color(share, kind, colormap);
}

std::string mask_picture_caption(int64_t n_q, int64_t n_k, int rows, int cols) {
  const double cell_q = static_cast<double>(n_q) / std::max(1, rows), cell_k = static_cast<double>(n_k) / std::max(1, cols);
  char buf[128];
  if (cell_q <= 1.0 && cell_k <= 1.0) std::snprintf(buf, sizeof buf, "1 cell = 1 pair; colour = allowed");
  else std::snprintf(buf, sizeof buf, "1 cell = %.3g × %.3g pairs; shade = share allowed", cell_q, cell_k);
  return buf;
}

}  // namespace attnscope::gui
