// colormap.hpp — the heatmap's colour map and value scales (no GL: unit-testable).
//
//   make_colormap   two maps built in OKLab, each resampled so equal steps in t are equal steps in OKLab distance
//                   (perceptual uniformity by construction, not by a copied table):
//                   viridis-like: lightness rises linearly from dark purple to yellow, hue turns through blue,
//                   teal and green;
//                   cividis-like: lightness rises linearly from dark blue to yellow along a straight line on the
//                   blue-yellow axis (red-green component held near zero, neutral grey in the middle), the one
//                   colour axis that red-green colour-blind viewers see as well as everyone else (the idea of
//                   Nuñez, Anderton and Renslow's cividis, 2018).
//   ValueScale      value -> t in [0, 1] for linear, log10 (P) and symmetric log (S, which has negatives),
//                   the same formula as shaders/heatmap.frag, plus tick values for the colour bar.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::gui {

using Rgba8 = std::array<uint8_t, 4>;

enum class ColormapKind { Viridis, Cividis };
inline constexpr ColormapKind kColormapKinds[] = {ColormapKind::Viridis, ColormapKind::Cividis};
const char* colormap_name(ColormapKind kind);  // "viridis" | "cividis" (the settings file's and --colormap's words)
// The kind named `name`; false when it names none.
bool parse_colormap(const std::string& name, ColormapKind* kind);

// `entries` colours from t = 0 (dark) to t = 1 (light), sRGB, alpha 255.
std::vector<Rgba8> make_colormap(ColormapKind kind, int entries = 256);
inline std::vector<Rgba8> make_colormap(int entries = 256) { return make_colormap(ColormapKind::Viridis, entries); }
// OKLab lightness of an sRGB colour (for tests: lightness must rise monotonically).
double oklab_lightness(const Rgba8& c);
double oklab_distance(const Rgba8& a, const Rgba8& b);

enum class ScaleMode : int { Linear = 0, Log10 = 1, SymLog = 2 };

struct ScaleTick {
  double value = 0;  // data value
  double t = 0;      // position on the colour bar, 0..1
  std::string label;
};

struct ValueScale {
  ScaleMode mode = ScaleMode::Linear;
  double lo = 0, hi = 1;   // data range shown (Log10: lo is the floor, > 0)
  double linthresh = 1.0;  // SymLog: linear within ±linthresh

  // The mapped coordinate (the shader computes the same): linear v, log10 v, or sign(v)·log10(1 + |v|/c).
  double forward(double v) const;
  double to_t(double v) const;  // 0..1, clamped

  // linear_data: true for a linear request. positive_only: P (log10 floor at max·1e-6).
  static ValueScale fit(bool log_requested, double min_value, double max_value);
  std::vector<ScaleTick> ticks(int max_ticks = 7) const;
};

std::string format_value(double v);  // compact: 0.25, 1.5e-03, -12.3

}  // namespace attnscope::gui
