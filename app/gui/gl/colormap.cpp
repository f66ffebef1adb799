// colormap.cpp — OKLab colour map and the colour bar's value scales (see colormap.hpp).
#include "app/gui/gl/colormap.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attnscope::gui {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Lab { double L, a, b; };
struct Rgb { double r, g, b; };  // linear sRGB

// OKLab -> linear sRGB (Björn Ottosson's published matrices).
Rgb oklab_to_linear(Lab c) {
  const double l_ = c.L + 0.3963377774 * c.a + 0.2158037573 * c.b;
  const double m_ = c.L - 0.1055613458 * c.a - 0.0638541728 * c.b;
  const double s_ = c.L - 0.0894841775 * c.a - 1.2914855480 * c.b;
  const double l = l_ * l_ * l_, m = m_ * m_ * m_, s = s_ * s_ * s_;
  return {+4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
          -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
          -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s};
}

Lab linear_to_oklab(Rgb c) {
  const double l = 0.4122214708 * c.r + 0.5363325363 * c.g + 0.0514459929 * c.b;
  const double m = 0.2119034982 * c.r + 0.6806995451 * c.g + 0.1073969566 * c.b;
  const double s = 0.0883024619 * c.r + 0.2817188376 * c.g + 0.6299787005 * c.b;
  const double l_ = std::cbrt(l), m_ = std::cbrt(m), s_ = std::cbrt(s);
  return {0.2104542553 * l_ + 0.7936177850 * m_ - 0.0040720468 * s_,
          1.9779984951 * l_ - 2.4285922050 * m_ + 0.4505937099 * s_,
          0.0259040371 * l_ + 0.7827717662 * m_ - 0.8086757660 * s_};
}

double to_srgb(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x <= 0.0031308 ? 12.92 * x : 1.055 * std::pow(x, 1.0 / 2.4) - 0.055;
}
double from_srgb(double x) { return x <= 0.04045 ? x / 12.92 : std::pow((x + 0.055) / 1.055, 2.4); }

bool in_gamut(Rgb c) {
  const double eps = 1e-6;
  return c.r >= -eps && c.r <= 1 + eps && c.g >= -eps && c.g <= 1 + eps && c.b >= -eps && c.b <= 1 + eps;
}

// (a, b) scaled down, hue kept, to the largest chroma at lightness L inside the sRGB gamut (bisection).
Lab clamp_to_gamut(double L, double a, double b) {
  if (in_gamut(oklab_to_linear({L, a, b}))) return {L, a, b};
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 40; ++i) {
    const double mid = 0.5 * (lo + hi);
    (in_gamut(oklab_to_linear({L, mid * a, mid * b})) ? lo : hi) = mid;
  }
  return {L, lo * a, lo * b};
}

// Viridis-like: lightness 0.27 -> 0.93 linearly; hue 305° (purple) -> 105° (yellow) through blue and green;
// chroma as high as the sRGB gamut allows up to a cap that peaks at the ends (purple, yellow).
Lab viridis_point(double t) {
  const double L = 0.27 + 0.66 * t;
  const double hue = (305.0 - 200.0 * t) * kPi / 180.0;
  const double chroma_cap = 0.10 + 0.08 * std::pow(2.0 * t - 1.0, 2.0);
  return clamp_to_gamut(L, chroma_cap * std::cos(hue), chroma_cap * std::sin(hue));
}

// Cividis-like: lightness 0.27 -> 0.93 linearly; the colour moves along the blue-yellow axis only: b rises from
// blue (-0.11) through neutral grey (0 at t = 1/2) to yellow (+0.17) on the parabola b = -0.11 + 0.16 t + 0.12 t²
// (rising everywhere; the ends are as saturated as dark blue and light yellow allow). The red-green coordinate is
// a = -0.03 (2t - 1)²: zero at the grey middle, a slight green lean at the ends so the dark end reads blue rather
// than violet and the light end yellow rather than orange.
Lab cividis_point(double t) {
  const double L = 0.27 + 0.66 * t;
  return clamp_to_gamut(L, -0.03 * (2 * t - 1) * (2 * t - 1), -0.11 + 0.16 * t + 0.12 * t * t);
}

Rgba8 to_rgba8(Lab c) {
  const Rgb lin = oklab_to_linear(c);
  auto byte = [](double x) { return static_cast<uint8_t>(std::lround(to_srgb(x) * 255.0)); };
  return {byte(lin.r), byte(lin.g), byte(lin.b), 255};
}

Lab rgba8_to_oklab(const Rgba8& c) {
  return linear_to_oklab({from_srgb(c[0] / 255.0), from_srgb(c[1] / 255.0), from_srgb(c[2] / 255.0)});
}

}  // namespace

const char* colormap_name(ColormapKind kind) { return kind == ColormapKind::Cividis ? "cividis" : "viridis"; }

bool parse_colormap(const std::string& name, ColormapKind* kind) {
  for (ColormapKind k : kColormapKinds)
    if (name == colormap_name(k)) {
      *kind = k;
      return true;
    }
  return false;
}

std::vector<Rgba8> make_colormap(ColormapKind kind, int entries) {
  entries = std::max(entries, 2);
  auto path_point = kind == ColormapKind::Cividis ? cividis_point : viridis_point;
  // Sample the path finely, accumulate OKLab arc length, then place `entries` colours at equal arc length.
  const int fine = 4096;
  std::vector<Lab> pts(fine + 1);
  std::vector<double> arc(fine + 1, 0.0);
  for (int i = 0; i <= fine; ++i) {
    pts[i] = path_point(static_cast<double>(i) / fine);
    if (i > 0) {
      const double dl = pts[i].L - pts[i - 1].L, da = pts[i].a - pts[i - 1].a, db = pts[i].b - pts[i - 1].b;
      arc[i] = arc[i - 1] + std::sqrt(dl * dl + da * da + db * db);
    }
  }
  std::vector<Rgba8> out(entries);
  int seg = 0;
  for (int e = 0; e < entries; ++e) {
    const double target = arc[fine] * e / (entries - 1);
    while (seg < fine - 1 && arc[seg + 1] < target) ++seg;
    const double span = arc[seg + 1] - arc[seg];
    const double f = span > 0 ? std::clamp((target - arc[seg]) / span, 0.0, 1.0) : 0.0;
    const Lab& a = pts[seg];
    const Lab& b = pts[seg + 1];
    out[e] = to_rgba8({a.L + f * (b.L - a.L), a.a + f * (b.a - a.a), a.b + f * (b.b - a.b)});
  }
  return out;
}

double oklab_lightness(const Rgba8& c) { return rgba8_to_oklab(c).L; }

double oklab_distance(const Rgba8& x, const Rgba8& y) {
  const Lab a = rgba8_to_oklab(x), b = rgba8_to_oklab(y);
  return std::sqrt((a.L - b.L) * (a.L - b.L) + (a.a - b.a) * (a.a - b.a) + (a.b - b.b) * (a.b - b.b));
}

double ValueScale::forward(double v) const {
  switch (mode) {
    case ScaleMode::Linear: return v;
    case ScaleMode::Log10: return std::log10(std::max(v, lo));
    case ScaleMode::SymLog: return (v < 0 ? -1.0 : 1.0) * std::log10(1.0 + std::fabs(v) / linthresh);
  }
  return v;
}

double ValueScale::to_t(double v) const {
  const double a = forward(lo), b = forward(hi);
  if (!(b > a)) return 0.5;
  return std::clamp((forward(v) - a) / (b - a), 0.0, 1.0);
}

ValueScale ValueScale::fit(bool log_requested, double min_value, double max_value) {
  ValueScale s;
  if (!std::isfinite(min_value) || !std::isfinite(max_value)) min_value = max_value = 0;
  if (max_value <= min_value) {  // a constant picture still gets a readable bar
    const double pad = min_value == 0 ? 1.0 : std::fabs(min_value) * 0.5;
    min_value -= pad;
    max_value += pad;
  }
  s.lo = min_value;
  s.hi = max_value;
  if (!log_requested) return s;
  if (min_value >= 0) {
    // Probabilities: decades down to 1e-6 of the largest value (smaller values show as the floor colour).
    s.mode = ScaleMode::Log10;
    s.hi = max_value;
    s.lo = std::max(min_value, max_value * 1e-6);
    if (s.lo <= 0) s.lo = max_value * 1e-6;
  } else {
    // Scores have both signs: symmetric log, linear within ±1 (one unit of scaled score).
    s.mode = ScaleMode::SymLog;
    s.linthresh = 1.0;
  }
  return s;
}

std::string format_value(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (v == 0) return "0";
  if (a >= 1e4 || a < 1e-2) std::snprintf(buf, sizeof buf, "%.0e", v);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10) std::snprintf(buf, sizeof buf, "%.1f", v);
  else std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  // "1e-03" -> "1e-3"
  if (auto e = s.find("e-0"); e != std::string::npos) s.erase(e + 2, 1);
  if (auto e = s.find("e+0"); e != std::string::npos) s.erase(e + 1, 2);
  else if (auto e2 = s.find("e+"); e2 != std::string::npos) s.erase(e2 + 1, 1);
  return s;
}

std::vector<ScaleTick> ValueScale::ticks(int max_ticks) const {
  std::vector<ScaleTick> out;
  auto add = [&](double v) {
    if (v < lo - 1e-12 * std::fabs(lo) || v > hi + 1e-12 * std::fabs(hi)) return;
    out.push_back({v, to_t(v), format_value(v)});
  };
  if (mode == ScaleMode::Log10) {
    const int d0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
    const int d1 = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    const int step = std::max(1, (d1 - d0 + max_ticks - 1) / std::max(1, max_ticks - 1));
    for (int d = d0; d <= d1; d += step) add(std::pow(10.0, d));
    return out;
  }
  if (mode == ScaleMode::SymLog) {
    add(0.0);
    for (int d = 0; d < 8; ++d) { add(std::pow(10.0, d)); add(-std::pow(10.0, d)); }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.value < b.value; });
    return out;
  }
  // Linear: a "nice" step of 1, 2 or 5 × 10^k giving at most max_ticks ticks.
  const double range = hi - lo;
  const double raw = range / std::max(1, max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  // Labels share the step's precision: 0, 5, 10 or 0.25, 0.50 (never 5.00 beside 10.0).
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
  const bool scientific = step >= 1e5 || step < 1e-4;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    const double value = std::fabs(v) < step * 1e-9 ? 0.0 : v;
    if (value < lo - step * 1e-9 || value > hi + step * 1e-9) continue;
    char buf[32];
    if (scientific) std::snprintf(buf, sizeof buf, "%.2g", value);
    else std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    out.push_back({value, to_t(value), buf});
  }
  return out;
}

}  // namespace attnscope::gui
