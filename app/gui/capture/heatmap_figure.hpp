// heatmap_figure.hpp — a heatmap as an export: its picture at full resolution (one pixel per cell of the computed
// image, coloured exactly as the shader colours it: the same table, scale and masked grey, and a pooled cell
// shaded by the share of its pairs the mask allows: mix(masked grey, table colour, share)) and a Figure framing it
// (axes in tokens, the colour bar with its ticks). No ImGui or GL.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "app/gui/capture/figure.hpp"
#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/gl/colormap.hpp"

namespace attnscope::gui::capture {

struct HeatmapExport {
  const std::vector<float>* values = nullptr;  // rows x cols, row-major, NaN = masked cell
  const std::vector<float>* allowed = nullptr; // rows x cols: share of each cell's pairs allowed (null: all)
  int rows = 0, cols = 0;
  int64_t q0 = 0, q1 = 0, k0 = 0, k1 = 0;      // the tokens the image covers: rows [q0, q1), keys [k0, k1)
  ValueScale scale;
  Rgba8 masked_color = {72, 72, 78, 255};
  std::string title;                           // "Scores  S = QKᵀ / √d"
  std::string value_label;                     // "S (linear)"
  std::string x_label = "key position k (token index)";
  std::string y_label = "query position q (token index)";
  double font_px = 16;
};

// rows x cols pixels, top row = the first query row.
RasterImage heatmap_raster(const HeatmapExport& heatmap);
// The frame: the picture (PNG, embedded) over keys on x and queries on y (query 0 at the top), tick labels in
// tokens, the colour bar with the scale's ticks. The data area has the picture's aspect ratio.
Figure heatmap_figure(const HeatmapExport& heatmap);

}  // namespace attnscope::gui::capture
