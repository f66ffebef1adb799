// heatmap_figure.cpp — see heatmap_figure.hpp.
#include "app/gui/capture/heatmap_figure.hpp"

#include <algorithm>
#include <cmath>

#include "app/gui/capture/png_file.hpp"

namespace attnscope::gui::capture {
namespace {

// Ticks at 1-2-5 multiples covering [lo, hi], as integers (token positions).
std::vector<FigureTick> token_ticks(int64_t lo, int64_t hi, int target) {
  std::vector<FigureTick> ticks;
  if (hi <= lo) return ticks;
  const double raw = static_cast<double>(hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(raw, 1.0))));
  double step = mag * 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  const int64_t s = std::max<int64_t>(1, static_cast<int64_t>(step));
  for (int64_t v = (lo + s - 1) / s * s; v <= hi; v += s) ticks.push_back({static_cast<double>(v), std::to_string(v)});
  return ticks;
}

const std::vector<Rgba8>& colormap_table() {
  static const std::vector<Rgba8> table = make_colormap(256);  // the table the heatmap's shader samples
  return table;
}

}  // namespace

RasterImage heatmap_raster(const HeatmapExport& h) {
  RasterImage image;
  if (!h.values || h.rows <= 0 || h.cols <= 0 || h.values->size() < static_cast<size_t>(h.rows) * h.cols) return image;
  image.width = h.cols;
  image.height = h.rows;
  image.rgba.resize(static_cast<size_t>(h.rows) * h.cols * 4);
  const auto& table = colormap_table();
  const int entries = static_cast<int>(table.size());
  for (size_t i = 0; i < static_cast<size_t>(h.rows) * h.cols; ++i) {
    const float v = (*h.values)[i];
    // As shaders/heatmap.frag: NaN is the masked colour; t picks the table entry nearest t·(entries − 1).
    const float allowed = h.allowed && h.allowed->size() > i ? std::clamp((*h.allowed)[i], 0.0f, 1.0f) : 1.0f;
    Rgba8 c = h.masked_color;
    if (!std::isnan(v) && allowed > 0.0f) {
      const Rgba8 mapped = table[static_cast<size_t>(
          std::clamp(static_cast<int>(h.scale.to_t(v) * (entries - 1) + 0.5), 0, entries - 1))];
      for (int ch = 0; ch < 4; ++ch)
        c[ch] = static_cast<uint8_t>(std::lround(h.masked_color[ch] + allowed * (mapped[ch] - h.masked_color[ch])));
    }
    std::copy(c.begin(), c.end(), image.rgba.begin() + static_cast<ptrdiff_t>(i * 4));
  }
  return image;
}

Figure heatmap_figure(const HeatmapExport& h) {
  Figure f;
  f.title = h.title;
  f.font_px = h.font_px;
  const double fs = h.font_px;
  // The data area: the picture's aspect, its longer side 4..8 × its cells up to 640 px (cells stay square).
  const double longer = std::max(h.rows, h.cols);
  const double side = std::clamp(longer, 320.0, 640.0);
  const double area_w = side * h.cols / std::max(1.0, longer), area_h = side * h.rows / std::max(1.0, longer);
  f.x = {h.x_label, false, static_cast<double>(h.k0), static_cast<double>(h.k1), token_ticks(h.k0, h.k1, 8)};
  // Query 0 at the top: the axis runs from q1 (bottom) to q0 (top).
  f.y = {h.y_label, false, static_cast<double>(h.q1), static_cast<double>(h.q0), token_ticks(h.q0, h.q1, 8)};
  double ytick_w = 0;
  for (auto& t : f.y.ticks) ytick_w = std::max(ytick_w, t.label.size() * 0.62 * fs);
  f.width = static_cast<int>(std::ceil(fs * 1.9 + ytick_w + fs * 0.6 + area_w + fs * 1.2 + fs * 5.5));
  f.height = static_cast<int>(std::ceil(fs * 2.4 + area_h + fs * 3.4));
  f.show_legend = false;
  const RasterImage raster = heatmap_raster(h);
  std::string error;
  FigureImage image;
  image.width = raster.width;
  image.height = raster.height;
  if (!raster.rgba.empty()) encode_png(raster.rgba.data(), raster.width, raster.height, {}, &image.png, &error);
  f.image = std::move(image);
  // Colour bar: the table as a 1 x 256 strip, top = t 1; ticks placed at their t (min 0, max 1).
  const auto& table = colormap_table();
  std::vector<uint8_t> strip;
  for (auto it = table.rbegin(); it != table.rend(); ++it) strip.insert(strip.end(), it->begin(), it->end());
  FigureColorBar bar;
  encode_png(strip.data(), 1, static_cast<int>(table.size()), {}, &bar.png, &error);
  bar.min = 0;
  bar.max = 1;
  bar.label = h.value_label;
  for (const ScaleTick& t : h.scale.ticks(7)) bar.ticks.push_back({t.t, t.label});
  f.colorbar = std::move(bar);
  return f;
}

}  // namespace attnscope::gui::capture
