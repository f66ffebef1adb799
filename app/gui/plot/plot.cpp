// plot.cpp — the plotting module (see plot.hpp).
//
// Contents
//   axis math        fit_range, nice_step, compute_ticks, format_tick, to_pixel / from_pixel
//   plot context     what BeginPlot .. EndPlot collect (items are copied, drawn at EndPlot)
//   item API         PlotLine, PlotScatter, PlotErrorBars, PlotText
//   EndPlot          layout (title, tick labels, axis labels), grid, items, legend, hover read-out; the frame's
//                    capture::Figure (what was drawn, as data) published for export, and the right-click menu
#include "app/gui/plot/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "app/gui/capture/export_ui.hpp"
#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui::plot {

// ---------------------------------------------------------------- axis math
namespace {

bool usable(double v, Scale scale) { return std::isfinite(v) && (scale == Scale::Linear || v > 0); }
double to_axis(double v, Scale scale) { return scale == Scale::Log10 ? std::log10(v) : v; }
double from_axis(double a, Scale scale) { return scale == Scale::Log10 ? std::pow(10.0, a) : a; }

// "⁻¹²" for -12.
std::string superscript(int value) {
  static const char* digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string out = value < 0 ? "⁻" : "";
  const std::string plain = std::to_string(std::abs(value));
  for (char c : plain) out += digits[c - '0'];
  return out;
}

}  // namespace

AxisRange fit_range(std::span<const double> values, Scale scale, double padding) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!usable(v, scale)) continue;
    lo = std::min(lo, to_axis(v, scale));
    hi = std::max(hi, to_axis(v, scale));
  }
  if (lo > hi) return scale == Scale::Log10 ? AxisRange{1, 10} : AxisRange{0, 1};
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(lo))) {  // one value: a range around it
    lo -= 1;
    hi += 1;
  } else {
    const double pad = (hi - lo) * padding;
    lo -= pad;
    hi += pad;
  }
  return {from_axis(lo, scale), from_axis(hi, scale)};
}

double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / decade;
  const double nice = f <= 1.0 + 1e-9 ? 1 : f <= 2.0 + 1e-9 ? 2 : f <= 5.0 + 1e-9 ? 5 : 10;
  return nice * decade;
}

std::string format_tick(double value, double step) {
  if (value == 0) return "0";
  const double mag = std::fabs(value);
  char buf[64];
  if (mag >= 1e5 || mag < 1e-3) {
    int e = static_cast<int>(std::floor(std::log10(mag) + 1e-9));
    double mantissa = value / std::pow(10.0, e);
    if (std::fabs(mantissa) >= 9.995) { mantissa /= 10; ++e; }
    if (std::fabs(std::fabs(mantissa) - 1.0) < 1e-6)
      return std::string(mantissa < 0 ? "-" : "") + "10" + superscript(e);
    std::snprintf(buf, sizeof buf, "%.3g", mantissa);
    return std::string(buf) + "·10" + superscript(e);
  }
  const double s = step > 0 && std::isfinite(step) ? step : mag;
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(s) + 1e-9)), 0, 6);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::vector<Tick> compute_ticks(AxisRange range, Scale scale, int target) {
  std::vector<Tick> ticks;
  if (!(range.max > range.min) || !std::isfinite(range.min) || !std::isfinite(range.max)) return ticks;
  if (scale == Scale::Linear) {
    const double step = nice_step(range.span() / std::max(1, target));
    const double first = std::ceil(range.min / step - 1e-9);
    for (double k = first; k * step <= range.max + step * 1e-9 && ticks.size() < 1000; k += 1) {
      double v = k * step;
      if (std::fabs(v) < step * 1e-9) v = 0;  // no "-0" from rounding
      ticks.push_back({v, true, format_tick(v, step)});
    }
    return ticks;
  }
  if (!(range.min > 0)) return ticks;
  const int d0 = static_cast<int>(std::floor(std::log10(range.min) + 1e-9));
  const int d1 = static_cast<int>(std::floor(std::log10(range.max) + 1e-9));
  const int decades_in_range = [&] {
    int n = 0;
    for (int d = d0; d <= d1; ++d) n += (std::pow(10.0, d) >= range.min * (1 - 1e-9) && std::pow(10.0, d) <= range.max * (1 + 1e-9));
    return n;
  }();
  const int stride = std::max(1, (decades_in_range + 7) / 8);  // at most about 8 labelled decades
  const bool label_two_five = decades_in_range < 2;
  for (int d = d0; d <= d1 && d - d0 < 400; ++d) {
    const double base = std::pow(10.0, d);
    for (int m = 1; m <= 9; ++m) {
      const double v = m * base;
      if (v < range.min * (1 - 1e-9) || v > range.max * (1 + 1e-9)) continue;
      const bool labelled = m == 1 ? (((d % stride) + stride) % stride == 0) : (label_two_five && (m == 2 || m == 5));
      ticks.push_back({v, labelled, labelled ? format_tick(v, v) : std::string()});
    }
  }
  // Less than a decade and at most one label: label every sub-decade tick.
  const auto labelled_count = std::count_if(ticks.begin(), ticks.end(), [](const Tick& t) { return t.labelled; });
  if (labelled_count < 2)
    for (Tick& t : ticks) {
      t.labelled = true;
      t.label = format_tick(t.value, t.value);
    }
  return ticks;
}

std::vector<Tick> compute_byte_ticks(AxisRange range, Scale scale, int target) {
  std::vector<Tick> ticks;
  if (!(range.max > range.min) || !std::isfinite(range.min) || !std::isfinite(range.max)) return ticks;
  auto linear = [&] {
    std::vector<Tick> out;
    const int k = binary_unit_of(std::max(std::fabs(range.min), std::fabs(range.max)));
    const double unit = std::ldexp(1.0, 10 * k);
    double step_in_unit = nice_step(range.span() / unit / std::max(1, target));
    if (k == 0) step_in_unit = std::max(1.0, step_in_unit);  // no fractions of a byte
    const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step_in_unit) + 1e-9)), 0, 6);
    const double step = step_in_unit * unit;
    for (double m = std::ceil(range.min / step - 1e-9); m * step <= range.max + step * 1e-9 && out.size() < 1000;
         m += 1) {
      const double v = std::fabs(m) < 1e-9 ? 0.0 : m * step;
      out.push_back({v, true, format_bytes_in_unit(v, k, decimals)});
    }
    return out;
  };
  if (scale == Scale::Linear) return linear();
  if (!(range.min > 0)) return ticks;
  const int j0 = static_cast<int>(std::ceil(std::log2(range.min) - 1e-9));
  const int j1 = static_cast<int>(std::floor(std::log2(range.max) + 1e-9));
  if (j1 - j0 + 1 < 2) {  // within a factor of two: round values of one unit, as on a linear axis
    ticks = linear();
    std::erase_if(ticks, [](const Tick& t) { return !(t.value > 0); });  // a log axis has no 0
    return ticks;
  }
  auto labels_with = [&](int stride) {
    int n = 0;
    for (int j = j0; j <= j1; ++j) n += ((j % stride) + stride) % stride == 0;
    return n;
  };
  int stride = 1;
  for (int candidate : {1, 2, 5, 10}) {
    stride = candidate;
    if (labels_with(stride) <= 8) break;
  }
  while (labels_with(stride) > 8) stride += 10;
  const bool minor = j1 - j0 < 64;
  for (int j = j0; j <= j1; ++j) {
    const bool labelled = ((j % stride) + stride) % stride == 0;
    if (!labelled && !minor) continue;
    const double v = std::ldexp(1.0, j);
    ticks.push_back({v, labelled, labelled ? format_bytes_round(v) : std::string()});
  }
  return ticks;
}

float to_pixel(double v, AxisRange range, Scale scale, float p0, float p1) {
  const double a = to_axis(range.min, scale), b = to_axis(range.max, scale);
  const double t = (to_axis(v, scale) - a) / (b - a);
  return static_cast<float>(p0 + t * (p1 - p0));
}

double from_pixel(float p, AxisRange range, Scale scale, float p0, float p1) {
  const double a = to_axis(range.min, scale), b = to_axis(range.max, scale);
  const double t = (static_cast<double>(p) - p0) / (static_cast<double>(p1) - p0);
  return from_axis(a + t * (b - a), scale);
}

// ---------------------------------------------------------------- plot context
namespace {

enum class Kind { Line, Scatter, ErrorBars };

struct Item {
  Kind kind = Kind::Line;
  std::string label;  // display text (before "##")
  ImU32 color = 0;
  ItemStyle style;
  std::vector<double> x, y, below, above;
  std::vector<std::string> notes;
};

struct TextItem {
  std::string text;
  double x = 0, y = 0;
  ImVec2 offset;
  ImU32 color = 0;
};

struct AxisSetupState {
  std::string label;
  Scale scale = Scale::Linear;
  Unit unit = Unit::Number;
  bool fixed = false;
  AxisRange limits;
  TickFormatter formatter = nullptr;
  bool custom_ticks = false;
  std::vector<double> ticks;
};

struct LegendEntry {
  std::string label;
  ImU32 color = 0;
  bool line = false, dashed = false;
  Marker marker = Marker::None;
  bool marker_filled = true;  // drawn as the item draws it: a hollow marker is hollow in the legend too
};

struct Context {
  bool active = false;
  std::string title;
  std::string figure_id;  // the export id (capture::figure_id_from_title of the title_id)
  PlotFlags flags = 0;
  ImVec2 min, max;  // the whole plot rectangle
  bool hovered = false;
  bool menu_requested = false;  // right-clicked this frame: open the export menu
  AxisSetupState axes[2];
  std::vector<Item> items;
  std::vector<TextItem> texts;
  std::vector<LegendEntry> legend;
  int next_color = 0;
};

Context& ctx() {
  static Context c;
  return c;
}
PlotStyle& style_storage() {
  static PlotStyle s;
  return s;
}
HoverInfo& hover_storage() {
  static HoverInfo h;
  return h;
}
PlotGeometry& geometry_storage() {
  static PlotGeometry g;
  return g;
}

std::string display_label(const char* label) {
  const std::string s = label ? label : "";
  const auto hash = s.find("##");
  return hash == std::string::npos ? s : s.substr(0, hash);
}

// The colour of a label: the earlier item's with that label, else the next palette colour.
ImU32 color_for(const std::string& label, ImU32 requested) {
  Context& c = ctx();
  if (requested != 0) return requested;
  for (const Item& it : c.items)
    if (!label.empty() && it.label == label) return it.color;
  return style_storage().palette[c.next_color++ % 8];
}

void note_legend(const Item& item) {
  Context& c = ctx();
  if (!item.style.in_legend || item.label.empty()) return;
  for (LegendEntry& e : c.legend)
    if (e.label == item.label) {
      e.line |= item.kind == Kind::Line;
      if (e.marker == Marker::None) {
        e.marker = item.style.marker;
        e.marker_filled = item.style.marker_filled;
      }
      return;
    }
  LegendEntry e;
  e.label = item.label;
  e.color = item.color;
  e.line = item.kind == Kind::Line;
  e.dashed = item.style.dashed;
  e.marker = item.kind == Kind::Scatter && item.style.marker == Marker::None ? Marker::Circle : item.style.marker;
  e.marker_filled = item.style.marker_filled;
  c.legend.push_back(e);
}

Item& add_item(Kind kind, const char* label, const ItemStyle& style, size_t count) {
  Context& c = ctx();
  Item item;
  item.kind = kind;
  item.label = display_label(label);
  item.color = color_for(item.label, style.color);
  item.style = style;
  item.style.notes = nullptr;
  if (style.notes) item.notes.assign(style.notes, style.notes + count);
  c.items.push_back(std::move(item));
  note_legend(c.items.back());
  return c.items.back();
}

float ui_scale() { return ImGui::GetFontSize() / 18.0f; }

void draw_marker(ImDrawList* dl, ImVec2 p, Marker marker, float r, ImU32 color, bool filled) {
  const float w = std::max(1.0f, r * 0.35f);
  switch (marker) {
    case Marker::None: return;
    case Marker::Circle:
      if (filled) dl->AddCircleFilled(p, r, color, 16);
      else dl->AddCircle(p, r, color, 16, w);
      return;
    case Marker::Square:
      if (filled) dl->AddRectFilled(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), color);
      else dl->AddRect(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), color, 0, 0, w);
      return;
    case Marker::Diamond: {
      const ImVec2 q[4] = {ImVec2(p.x, p.y - r * 1.25f), ImVec2(p.x + r * 1.25f, p.y), ImVec2(p.x, p.y + r * 1.25f),
                           ImVec2(p.x - r * 1.25f, p.y)};
      if (filled) dl->AddConvexPolyFilled(q, 4, color);
      else dl->AddPolyline(q, 4, color, ImDrawFlags_Closed, w);
      return;
    }
    case Marker::TriangleUp: {
      const ImVec2 a(p.x, p.y - r * 1.3f), b(p.x + r * 1.15f, p.y + r * 0.75f), d(p.x - r * 1.15f, p.y + r * 0.75f);
      if (filled) dl->AddTriangleFilled(a, b, d, color);
      else dl->AddTriangle(a, b, d, color, w);
      return;
    }
    case Marker::Cross: {
      const float k = r * 1.1f, t = std::max(2.0f, r * 0.5f);
      dl->AddLine(ImVec2(p.x - k, p.y - k), ImVec2(p.x + k, p.y + k), color, t);
      dl->AddLine(ImVec2(p.x - k, p.y + k), ImVec2(p.x + k, p.y - k), color, t);
      return;
    }
  }
}

void draw_dashed(ImDrawList* dl, ImVec2 a, ImVec2 b, ImU32 color, float weight, float dash) {
  const float dx = b.x - a.x, dy = b.y - a.y, len = std::sqrt(dx * dx + dy * dy);
  if (len < 1e-3f) return;
  for (float t = 0; t < len; t += 2 * dash) {
    const float e = std::min(len, t + dash);
    dl->AddLine(ImVec2(a.x + dx * t / len, a.y + dy * t / len), ImVec2(a.x + dx * e / len, a.y + dy * e / len), color,
                weight);
  }
}

std::string tick_text(const AxisSetupState& axis, const Tick& t) {
  return axis.formatter ? axis.formatter(t.value) : t.label;
}

}  // namespace

PlotStyle& GetStyle() { return style_storage(); }
const HoverInfo& LastHover() { return hover_storage(); }
const PlotGeometry& LastPlotGeometry() { return geometry_storage(); }

bool BeginPlot(const char* title_id, ImVec2 size, PlotFlags flags) {
  Context& c = ctx();
  IM_ASSERT(!c.active && "BeginPlot without EndPlot");
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float font = ImGui::GetFontSize();
  ImVec2 s(size.x < 0 ? avail.x : size.x == 0 ? std::max(avail.x, font * 20) : size.x,
           size.y < 0 ? avail.y : size.y == 0 ? font * 14 : size.y);
  if (s.x < font * 8 || s.y < font * 6) {
    ImGui::Dummy(ImVec2(std::max(s.x, 1.0f), std::max(s.y, 1.0f)));
    return false;
  }
  ImGui::PushID(title_id);
  ImGui::InvisibleButton("##plot", s);
  c = Context{};
  c.active = true;
  c.title = display_label(title_id);
  c.flags = flags;
  c.min = ImGui::GetItemRectMin();
  c.max = ImGui::GetItemRectMax();
  c.hovered = ImGui::IsItemHovered();
  c.menu_requested = c.hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right);
  c.figure_id = capture::figure_id_from_title(title_id);
  ImGui::PopID();
  return true;
}

void SetupAxis(Axis axis, const char* label, Scale scale) {
  AxisSetupState& a = ctx().axes[axis == Axis::X ? 0 : 1];
  a.label = label ? label : "";
  a.scale = scale;
}

void SetupAxisLimits(Axis axis, double min, double max) {
  AxisSetupState& a = ctx().axes[axis == Axis::X ? 0 : 1];
  if (!(max > min)) return;
  a.fixed = true;
  a.limits = {min, max};
}

void SetupAxisUnit(Axis axis, Unit unit) { ctx().axes[axis == Axis::X ? 0 : 1].unit = unit; }

void SetupAxisTicks(Axis axis, std::span<const double> values) {
  AxisSetupState& a = ctx().axes[axis == Axis::X ? 0 : 1];
  a.custom_ticks = true;
  a.ticks.assign(values.begin(), values.end());
}

void SetupAxisFormat(Axis axis, TickFormatter formatter) { ctx().axes[axis == Axis::X ? 0 : 1].formatter = formatter; }

void PlotLine(const char* label, std::span<const double> xs, std::span<const double> ys, const ItemStyle& style) {
  const size_t n = std::min(xs.size(), ys.size());
  Item& it = add_item(Kind::Line, label, style, n);
  it.x.assign(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(n));
  it.y.assign(ys.begin(), ys.begin() + static_cast<ptrdiff_t>(n));
}
void PlotLine(const char* label, const double* xs, const double* ys, int count, const ItemStyle& style) {
  const size_t n = static_cast<size_t>(std::max(0, count));
  PlotLine(label, std::span<const double>(xs, n), std::span<const double>(ys, n), style);
}

void PlotScatter(const char* label, std::span<const double> xs, std::span<const double> ys, const ItemStyle& style) {
  ItemStyle s = style;
  if (s.marker == Marker::None) s.marker = Marker::Circle;
  const size_t n = std::min(xs.size(), ys.size());
  Item& it = add_item(Kind::Scatter, label, s, n);
  it.x.assign(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(n));
  it.y.assign(ys.begin(), ys.begin() + static_cast<ptrdiff_t>(n));
}
void PlotScatter(const char* label, const double* xs, const double* ys, int count, const ItemStyle& style) {
  const size_t n = static_cast<size_t>(std::max(0, count));
  PlotScatter(label, std::span<const double>(xs, n), std::span<const double>(ys, n), style);
}

void PlotErrorBars(const char* label, std::span<const double> xs, std::span<const double> ys,
                   std::span<const double> below, std::span<const double> above, const ItemStyle& style) {
  const size_t n = std::min({xs.size(), ys.size(), below.size(), above.size()});
  ItemStyle s = style;
  s.in_legend = false;  // the bars belong to the series of the same label
  Item& it = add_item(Kind::ErrorBars, label, s, n);
  it.x.assign(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(n));
  it.y.assign(ys.begin(), ys.begin() + static_cast<ptrdiff_t>(n));
  it.below.assign(below.begin(), below.begin() + static_cast<ptrdiff_t>(n));
  it.above.assign(above.begin(), above.begin() + static_cast<ptrdiff_t>(n));
}

void PlotText(const char* text, double x, double y, ImVec2 pixel_offset, ImU32 color) {
  ctx().texts.push_back({text ? text : "", x, y, pixel_offset, color});
}

// ---------------------------------------------------------------- the exported figure
namespace {

capture::FigureMarker figure_marker(Marker m) {
  switch (m) {
    case Marker::None: return capture::FigureMarker::None;
    case Marker::Circle: return capture::FigureMarker::Circle;
    case Marker::Square: return capture::FigureMarker::Square;
    case Marker::Diamond: return capture::FigureMarker::Diamond;
    case Marker::TriangleUp: return capture::FigureMarker::TriangleUp;
    case Marker::Cross: return capture::FigureMarker::Cross;
  }
  return capture::FigureMarker::None;
}

// What EndPlot drew, as data: the same ranges, the ticks with the labels shown (an x label thinned out on screen
// is a minor tick in the figure), every item with its colour, marker, dash and size, the texts, the legend corner.
// Sizes are in the plot's pixels at this frame's font, so the SVG has the proportions of the screen (or more room,
// for a plot squeezed on screen).
void publish_figure(const Context& c, AxisRange rx, AxisRange ry, const std::vector<Tick>& tx,
                    const std::vector<Tick>& ty, const std::vector<float>& shown_x_labels, ImVec2 a0, ImVec2 a1,
                    LegendCorner legend_corner) {
  const PlotStyle& st = style_storage();
  const float k = ui_scale();
  capture::Figure f;
  f.title = (c.flags & PlotFlags_NoTitle) ? std::string() : c.title;
  f.width = std::max(1, static_cast<int>(std::lround(c.max.x - c.min.x)));
  f.height = std::max(1, static_cast<int>(std::lround(c.max.y - c.min.y)));
  f.font_px = ImGui::GetFontSize();
  // A plot squeezed into a short strip on screen still exports at a readable size: at least 36 x 22 em.
  f.width = std::max(f.width, static_cast<int>(f.font_px * 36));
  f.height = std::max(f.height, static_cast<int>(f.font_px * 22));
  ImVec4 bg = ImGui::GetStyleColorVec4(ImGuiCol_WindowBg);
  bg.w = 1.0f;  // a figure on paper has an opaque background
  f.background = ImGui::ColorConvertFloat4ToU32(bg);
  f.frame_bg = st.frame_bg;
  f.border = st.border;
  f.grid = st.grid_major;
  f.grid_minor = st.grid_minor;
  f.text = st.text;
  const AxisSetupState& ax = c.axes[0];
  const AxisSetupState& ay = c.axes[1];
  f.x = {ax.label, ax.scale == Scale::Log10, rx.min, rx.max, {}};
  f.y = {ay.label, ay.scale == Scale::Log10, ry.min, ry.max, {}};
  for (const Tick& t : tx) {
    const float x = to_pixel(t.value, rx, ax.scale, a0.x, a1.x);
    const bool shown = t.labelled && std::any_of(shown_x_labels.begin(), shown_x_labels.end(),
                                                 [&](float p) { return std::fabs(p - x) < 0.5f; });
    f.x.ticks.push_back({t.value, shown ? tick_text(ax, t) : std::string()});
  }
  for (const Tick& t : ty) f.y.ticks.push_back({t.value, t.labelled ? tick_text(ay, t) : std::string()});
  for (const Item& it : c.items) {
    capture::FigureSeries s;
    s.kind = it.kind == Kind::Line      ? capture::FigureSeries::Kind::Line
             : it.kind == Kind::Scatter ? capture::FigureSeries::Kind::Scatter
                                        : capture::FigureSeries::Kind::ErrorBars;
    s.label = it.label;
    s.color = it.color;
    s.xs = it.x;
    s.ys = it.y;
    s.below = it.below;
    s.above = it.above;
    s.marker = figure_marker(it.style.marker);
    s.marker_filled = it.style.marker_filled;
    s.dashed = it.style.dashed;
    s.in_legend = it.style.in_legend;
    s.line_width = (it.style.line_weight > 0 ? it.style.line_weight : st.line_weight) * k;
    s.marker_size = (it.style.marker_size > 0 ? it.style.marker_size : st.marker_size) * k;
    f.series.push_back(std::move(s));
  }
  for (const TextItem& t : c.texts) f.texts.push_back({t.text, t.x, t.y, t.offset.x, t.offset.y, t.color});
  f.legend = static_cast<capture::FigureLegendCorner>(static_cast<int>(legend_corner));  // the corner drawn
  f.show_legend = !(c.flags & PlotFlags_NoLegend);

  capture::ExportSource source;
  source.id = c.figure_id;
  source.title = c.title;
  source.figure = [figure = std::move(f)] { return figure; };
  source.x = c.min.x;
  source.y = c.min.y;
  source.w = c.max.x - c.min.x;
  source.h = c.max.y - c.min.y;
  source.frame = ImGui::GetFrameCount();
  capture::publish(std::move(source));
}

}  // namespace

// ---------------------------------------------------------------- EndPlot
void EndPlot() {
  Context& c = ctx();
  IM_ASSERT(c.active && "EndPlot without BeginPlot");
  const PlotStyle& st = style_storage();
  const float k = ui_scale(), font = ImGui::GetFontSize();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  AxisSetupState& ax = c.axes[0];
  AxisSetupState& ay = c.axes[1];

  // Ranges: fixed, or fitted to every item (error bars' ends included).
  std::vector<double> xs, ys;
  for (const Item& it : c.items) {
    xs.insert(xs.end(), it.x.begin(), it.x.end());
    for (size_t i = 0; i < it.y.size(); ++i) {
      ys.push_back(it.y[i]);
      if (it.kind == Kind::ErrorBars) {
        ys.push_back(it.y[i] - it.below[i]);
        ys.push_back(it.y[i] + it.above[i]);
      }
    }
  }
  const AxisRange rx = ax.fixed ? ax.limits : fit_range(xs, ax.scale, st.fit_padding);
  const AxisRange ry = ay.fixed ? ay.limits : fit_range(ys, ay.scale, st.fit_padding);
  const float plot_w = c.max.x - c.min.x;
  const int x_target = std::clamp(static_cast<int>(plot_w / (font * 5)), 2, st.target_ticks + 2);
  auto ticks_of = [](const AxisSetupState& a, AxisRange r, int target) {
    const bool bytes = a.unit == Unit::Bytes;
    if (!a.custom_ticks) return bytes ? compute_byte_ticks(r, a.scale, target) : compute_ticks(r, a.scale, target);
    std::vector<Tick> t;
    for (double v : a.ticks)
      if (v >= r.min && v <= r.max && usable(v, a.scale))
        t.push_back({v, true, bytes ? format_bytes_round(v) : format_tick(v, std::fabs(v))});
    return t;
  };
  std::vector<Tick> tx = ticks_of(ax, rx, x_target);
  std::vector<Tick> ty = ticks_of(ay, ry, st.target_ticks);

  // Layout: title on top; y label (vertical) and y tick labels on the left; x tick labels and x label below.
  const float pad = font * 0.35f;
  const float title_h = (c.flags & PlotFlags_NoTitle) || c.title.empty() ? pad : font + pad;
  float ytick_w = 0;
  for (const Tick& t : ty)
    if (t.labelled) ytick_w = std::max(ytick_w, ImGui::CalcTextSize(tick_text(ay, t).c_str()).x);
  const float ylabel_w = ay.label.empty() ? 0 : font + pad;
  const float xlabel_h = ax.label.empty() ? 0 : font + pad * 0.5f;
  float last_xlabel_half = font;
  if (!tx.empty()) last_xlabel_half = ImGui::CalcTextSize(tick_text(ax, tx.back()).c_str()).x * 0.5f + pad;
  const ImVec2 a0(c.min.x + ylabel_w + ytick_w + pad * 2, c.min.y + title_h);
  ImVec2 a1(c.max.x - std::max(pad, last_xlabel_half), c.max.y - xlabel_h - font - pad);
  PlotGeometry& geo = geometry_storage();
  geo = PlotGeometry{};
  geo.min = a0;
  geo.max = a1;
  geo.x_min = rx.min, geo.x_max = rx.max, geo.y_min = ry.min, geo.y_max = ry.max;
  geo.x_scale = ax.scale, geo.y_scale = ay.scale;
  geo.items = static_cast<int>(c.items.size());
  HoverInfo& hover = hover_storage();
  hover = HoverInfo{};
  if (a1.x - a0.x < font * 2 || a1.y - a0.y < font * 2) {
    c.active = false;
    return;
  }
  auto px = [&](double x) { return to_pixel(x, rx, ax.scale, a0.x, a1.x); };
  auto py = [&](double y) { return to_pixel(y, ry, ay.scale, a1.y, a0.y); };
  auto point_ok = [&](double x, double y) { return usable(x, ax.scale) && usable(y, ay.scale); };

  // Legend box size and corner, before anything is drawn: outside on the right, the data area narrows.
  const bool legend_shown = !(c.flags & PlotFlags_NoLegend) && !c.legend.empty();
  const float legend_swatch = font * 1.6f, legend_row = font * 1.15f;
  ImVec2 legend_size(0, 0);
  if (legend_shown) {
    float w = 0;
    for (const LegendEntry& e : c.legend) w = std::max(w, ImGui::CalcTextSize(e.label.c_str()).x);
    legend_size = ImVec2(legend_swatch + pad * 3 + w, legend_row * static_cast<float>(c.legend.size()) + pad * 2);
  }
  LegendCorner legend_corner = st.legend_corner;
  if (legend_shown && legend_corner == LegendCorner::Best) {
    std::vector<capture::LegendPoint> covered;  // drawn points, error-bar ends, 7 samples inside each segment
    for (const Item& it : c.items)
      for (size_t i = 0; i < it.x.size(); ++i) {
        if (it.kind == Kind::ErrorBars) {
          for (double y : {it.y[i] - it.below[i], it.y[i] + it.above[i]})
            if (point_ok(it.x[i], y)) covered.push_back({px(it.x[i]), py(y)});
          continue;
        }
        if (!point_ok(it.x[i], it.y[i])) continue;
        const capture::LegendPoint p{px(it.x[i]), py(it.y[i])};
        covered.push_back(p);
        if (it.kind == Kind::Line && i > 0 && point_ok(it.x[i - 1], it.y[i - 1])) {
          const capture::LegendPoint q{px(it.x[i - 1]), py(it.y[i - 1])};
          for (int j = 1; j < 8; ++j) covered.push_back({q.x + (p.x - q.x) * j / 8.0, q.y + (p.y - q.y) * j / 8.0});
        }
      }
    const capture::LegendColumns below =
        capture::legend_columns(a1.x - a0.x, legend_size.x, static_cast<int>(c.legend.size()));
    legend_corner = static_cast<LegendCorner>(capture::choose_legend_corner(
        covered, a0.x, a0.y, a1.x, a1.y, legend_size.x, legend_size.y, pad, legend_row * below.rows + pad * 2,
        (a1.y - a0.y) * 0.35f));
  }
  if (legend_corner == LegendCorner::Best) legend_corner = LegendCorner::NorthWest;  // no legend drawn
  const capture::LegendColumns legend_below =
      capture::legend_columns(a1.x - a0.x, legend_size.x, static_cast<int>(c.legend.size()));
  if (legend_shown && legend_corner == LegendCorner::OutsideEast) a1.x -= legend_size.x + pad * 2;
  if (legend_shown && legend_corner == LegendCorner::OutsideSouth)
    a1.y -= legend_row * static_cast<float>(legend_below.rows) + pad * 3;
  geo.max = a1;

  // Title.
  if (!(c.flags & PlotFlags_NoTitle) && !c.title.empty()) {
    const float tw = ImGui::CalcTextSize(c.title.c_str()).x;
    dl->AddText(ImVec2(std::max(a0.x, (a0.x + a1.x - tw) * 0.5f), c.min.y), st.text, c.title.c_str());
  }
  // Data area, grid and ticks.
  dl->AddRectFilled(a0, a1, st.frame_bg);
  for (const Tick& t : tx) {
    const float x = px(t.value);
    if (x < a0.x - 0.5f || x > a1.x + 0.5f) continue;
    dl->AddLine(ImVec2(x, a0.y), ImVec2(x, a1.y), t.labelled ? st.grid_major : st.grid_minor, 1.0f);
    dl->AddLine(ImVec2(x, a1.y), ImVec2(x, a1.y + pad * (t.labelled ? 0.8f : 0.45f)), st.border, 1.0f);
  }
  for (const Tick& t : ty) {
    const float y = py(t.value);
    if (y < a0.y - 0.5f || y > a1.y + 0.5f) continue;
    dl->AddLine(ImVec2(a0.x, y), ImVec2(a1.x, y), t.labelled ? st.grid_major : st.grid_minor, 1.0f);
    dl->AddLine(ImVec2(a0.x - pad * (t.labelled ? 0.8f : 0.45f), y), ImVec2(a0.x, y), st.border, 1.0f);
  }
  // X tick labels: skip a label that would touch the previous one (decades are kept first on log axes).
  std::vector<float> shown_x_labels;  // their pixel positions, for the exported figure's ticks
  {
    struct Placed { float x, w; bool decade; std::string text; };
    std::vector<Placed> labels;
    for (const Tick& t : tx) {
      if (!t.labelled) continue;
      const float x = px(t.value);
      if (x < a0.x - 1 || x > a1.x + 1) continue;
      const std::string text = tick_text(ax, t);
      // A "decade" is kept first when labels must thin out: 10^k, or (bytes) 2^(10k).
      const double lg = ax.unit == Unit::Bytes ? std::log2(std::fabs(t.value)) / 10 : std::log10(std::fabs(t.value));
      labels.push_back({x, ImGui::CalcTextSize(text.c_str()).x, ax.scale == Scale::Log10 && std::fabs(lg - std::round(lg)) < 1e-9, text});
    }
    auto overlaps = [&](const std::vector<Placed>& v) {
      for (size_t i = 1; i < v.size(); ++i)
        if (v[i - 1].x + v[i - 1].w * 0.5f + pad * 1.5f > v[i].x - v[i].w * 0.5f) return true;
      return false;
    };
    if (overlaps(labels) && ax.scale == Scale::Log10) {
      std::vector<Placed> decades;
      for (auto& l : labels)
        if (l.decade) decades.push_back(l);
      if (decades.size() >= 2) labels = decades;
    }
    while (overlaps(labels) && labels.size() > 2) {
      std::vector<Placed> thinned;
      for (size_t i = 0; i < labels.size(); i += 2) thinned.push_back(labels[i]);
      labels = thinned;
    }
    for (const Placed& l : labels) {
      dl->AddText(ImVec2(l.x - l.w * 0.5f, a1.y + pad), st.text, l.text.c_str());
      shown_x_labels.push_back(l.x);
    }
  }
  for (const Tick& t : ty) {
    if (!t.labelled) continue;
    const float y = py(t.value);
    if (y < a0.y - 1 || y > a1.y + 1) continue;
    const std::string text = tick_text(ay, t);
    const float w = ImGui::CalcTextSize(text.c_str()).x;
    dl->AddText(ImVec2(a0.x - pad * 1.2f - w, y - font * 0.5f), st.text, text.c_str());
  }
  // Axis labels.
  if (!ax.label.empty()) {
    const float w = ImGui::CalcTextSize(ax.label.c_str()).x;
    dl->AddText(ImVec2(std::max(a0.x, (a0.x + a1.x - w) * 0.5f), a1.y + font + pad * 1.3f), st.text, ax.label.c_str());
  }
  if (!ay.label.empty()) {
    const float w = ImGui::CalcTextSize(ay.label.c_str()).x;
    const float mid = (a0.y + a1.y) * 0.5f;
    draw_text_vertical(dl, ImVec2(c.min.x, std::min(c.max.y, mid + w * 0.5f)), st.text, ay.label.c_str());
  }

  // Items, clipped to the data area.
  dl->PushClipRect(a0, a1, true);
  int drawn = 0;
  for (const Item& it : c.items) {
    const float weight = (it.style.line_weight > 0 ? it.style.line_weight : st.line_weight) * k;
    const float radius = (it.style.marker_size > 0 ? it.style.marker_size : st.marker_size) * k;
    if (it.kind == Kind::Line) {
      // Consecutive usable points form a polyline; an unusable point breaks it.
      std::vector<ImVec2> run;
      auto flush = [&] {
        if (run.size() >= 2) {
          if (it.style.dashed)
            for (size_t i = 1; i < run.size(); ++i) draw_dashed(dl, run[i - 1], run[i], it.color, weight, font * 0.4f);
          else
            dl->AddPolyline(run.data(), static_cast<int>(run.size()), it.color, ImDrawFlags_None, weight);
        }
        run.clear();
      };
      for (size_t i = 0; i < it.x.size(); ++i) {
        if (point_ok(it.x[i], it.y[i])) run.emplace_back(px(it.x[i]), py(it.y[i]));
        else flush();
      }
      flush();
    } else if (it.kind == Kind::ErrorBars) {
      const float cap = st.error_bar_cap * k, w = st.error_bar_weight * k;
      for (size_t i = 0; i < it.x.size(); ++i) {
        const double lo = it.y[i] - it.below[i], hi = it.y[i] + it.above[i];
        if (!point_ok(it.x[i], lo) || !point_ok(it.x[i], hi)) continue;
        const float x = px(it.x[i]), y0 = py(lo), y1 = py(hi);
        dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), it.color, w);
        dl->AddLine(ImVec2(x - cap, y0), ImVec2(x + cap, y0), it.color, w);
        dl->AddLine(ImVec2(x - cap, y1), ImVec2(x + cap, y1), it.color, w);
      }
    }
    if (it.kind != Kind::ErrorBars && it.style.marker != Marker::None)
      for (size_t i = 0; i < it.x.size(); ++i)
        if (point_ok(it.x[i], it.y[i]))
          draw_marker(dl, ImVec2(px(it.x[i]), py(it.y[i])), it.style.marker, radius, it.color, it.style.marker_filled);
    if (it.kind != Kind::ErrorBars)
      for (size_t i = 0; i < it.x.size(); ++i) drawn += point_ok(it.x[i], it.y[i]) ? 1 : 0;
  }
  geo.points_drawn = drawn;
  dl->PopClipRect();
  // Annotations may run past the data area but stay inside the plot.
  dl->PushClipRect(c.min, c.max, true);
  for (const TextItem& t : c.texts) {
    if (!point_ok(t.x, t.y)) continue;
    dl->AddText(ImVec2(px(t.x) + t.offset.x, py(t.y) + t.offset.y), t.color ? t.color : st.text, t.text.c_str());
  }
  dl->PopClipRect();
  dl->AddRect(a0, a1, st.border, 0, 0, 1.0f);

  // Legend: one row per label, a line and/or marker swatch in its colour.
  if (legend_shown) {
    const float swatch = legend_swatch, row = legend_row;
    const bool outside = legend_corner == LegendCorner::OutsideEast;
    const bool below_plot = legend_corner == LegendCorner::OutsideSouth;
    const bool east = legend_corner == LegendCorner::NorthEast || legend_corner == LegendCorner::SouthEast;
    const bool south = legend_corner == LegendCorner::SouthWest || legend_corner == LegendCorner::SouthEast;
    const int columns = below_plot ? legend_below.columns : 1;
    const ImVec2 size = below_plot ? ImVec2(legend_size.x * static_cast<float>(columns),
                                            row * static_cast<float>(legend_below.rows) + pad * 2)
                                   : legend_size;
    const ImVec2 l0(below_plot ? a0.x : outside ? a1.x + pad * 2 : east ? a1.x - size.x - pad : a0.x + pad,
                    below_plot ? c.max.y - size.y : outside ? a0.y : south ? a1.y - size.y - pad : a0.y + pad);
    geo.legend_min = l0;
    geo.legend_max = ImVec2(l0.x + size.x, l0.y + size.y);
    geo.legend_entries = static_cast<int>(c.legend.size());
    geo.legend_hollow_markers = static_cast<int>(std::count_if(c.legend.begin(), c.legend.end(), [](const LegendEntry& e) {
      return e.marker != Marker::None && e.marker != Marker::Cross && !e.marker_filled;
    }));
    dl->AddRectFilled(l0, ImVec2(l0.x + size.x, l0.y + size.y), st.legend_bg, font * 0.2f);
    dl->AddRect(l0, ImVec2(l0.x + size.x, l0.y + size.y), st.grid_major, font * 0.2f);
    for (size_t i = 0; i < c.legend.size(); ++i) {
      const LegendEntry& e = c.legend[i];
      const size_t column = i % static_cast<size_t>(columns), line = i / static_cast<size_t>(columns);
      const float y = l0.y + pad + row * (static_cast<float>(line) + 0.5f);
      const float x = l0.x + legend_size.x * static_cast<float>(column);
      const ImVec2 s0(x + pad, y), s1(x + pad + swatch, y);
      if (e.line) {
        if (e.dashed) draw_dashed(dl, s0, s1, e.color, st.line_weight * k, font * 0.3f);
        else dl->AddLine(s0, s1, e.color, st.line_weight * k);
      }
      draw_marker(dl, ImVec2((s0.x + s1.x) * 0.5f, y), e.marker, st.marker_size * k, e.color, e.marker_filled);
      dl->AddText(ImVec2(s1.x + pad, y - font * 0.5f), st.text, e.label.c_str());
    }
  }

  geo.legend_corner = legend_corner;
  // The figure resolves Best again on its own geometry (its legend box has other proportions).
  publish_figure(c, rx, ry, tx, ty, shown_x_labels, a0, a1,
                 st.legend_corner == LegendCorner::Best ? LegendCorner::Best : legend_corner);
  capture::figure_context_menu(c.figure_id, c.menu_requested);

  // Hover: crosshair, the mouse position in data units, and the nearest point's read-out.
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (c.hovered && !(c.flags & PlotFlags_NoHover) && mouse.x >= a0.x && mouse.x <= a1.x && mouse.y >= a0.y &&
      mouse.y <= a1.y) {
    dl->AddLine(ImVec2(mouse.x, a0.y), ImVec2(mouse.x, a1.y), st.grid_major, 1.0f);
    dl->AddLine(ImVec2(a0.x, mouse.y), ImVec2(a1.x, mouse.y), st.grid_major, 1.0f);
    auto value_text = [](const AxisSetupState& a, double v) {
      char b[48];
      if (a.unit == Unit::Bytes) return format_bytes(v);
      std::snprintf(b, sizeof b, "%.4g", v);
      return std::string(b);
    };
    const std::string pos_text = value_text(ax, from_pixel(mouse.x, rx, ax.scale, a0.x, a1.x)) + ", " +
                                 value_text(ay, from_pixel(mouse.y, ry, ay.scale, a1.y, a0.y));
    const char* pos = pos_text.c_str();
    const ImVec2 tw = ImGui::CalcTextSize(pos);
    dl->AddText(ImVec2(a1.x - tw.x - pad, a1.y - tw.y - pad), st.text, pos);
    float best = st.hover_radius * k;
    const Item* best_item = nullptr;
    for (const Item& it : c.items) {
      if (it.kind == Kind::ErrorBars) continue;
      for (size_t i = 0; i < it.x.size(); ++i) {
        if (!point_ok(it.x[i], it.y[i])) continue;
        const float dx = px(it.x[i]) - mouse.x, dy = py(it.y[i]) - mouse.y, d = std::sqrt(dx * dx + dy * dy);
        if (d <= best) {
          best = d;
          best_item = &it;
          hover.active = true;
          hover.label = it.label;
          hover.index = static_cast<int>(i);
          hover.x = it.x[i];
          hover.y = it.y[i];
        }
      }
    }
    if (best_item) {
      dl->AddCircle(ImVec2(px(hover.x), py(hover.y)), st.marker_size * k * 1.8f, st.text, 16, 1.5f);
      ImGui::BeginTooltip();
      if (!hover.label.empty()) ImGui::TextUnformatted(hover.label.c_str());
      ImGui::Text("%s = %s", ax.label.empty() ? "x" : ax.label.c_str(), value_text(ax, hover.x).c_str());
      ImGui::Text("%s = %s", ay.label.empty() ? "y" : ay.label.c_str(), value_text(ay, hover.y).c_str());
      const size_t idx = static_cast<size_t>(hover.index);
      if (idx < best_item->notes.size() && !best_item->notes[idx].empty())
        ImGui::TextUnformatted(best_item->notes[idx].c_str());
      ImGui::EndTooltip();
    }
  }
  c.active = false;
}

}  // namespace attnscope::gui::plot
