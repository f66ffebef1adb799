// plot.hpp — attnscope's small plotting module over ImDrawList, in ImPlot's shape (ImPlot itself is not packaged
// for our platforms; this copies its API shape, not its code):
//
//   if (plot::BeginPlot("Time against N", ImVec2(-1, 300))) {
//     plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
//     plot::SetupAxis(plot::Axis::Y, "median time (ms)", plot::Scale::Log10);
//     plot::PlotLine("flash", ns, ms);                  // std::span<const double> or pointer + count
//     plot::PlotErrorBars("flash", ns, ms, below, above);
//     plot::EndPlot();
//   }
//
// Contents
//   style          PlotStyle (documented defaults), ItemStyle, Marker, flags
//   drawing API    BeginPlot / SetupAxis / SetupAxisLimits / PlotLine / PlotScatter / PlotErrorBars / PlotText /
//                  EndPlot, PlotHovered
//   axis math      AxisRange, fit_range, compute_ticks, format_tick, to_pixel / from_pixel (pure, unit-tested)
//
// Data are non-owning views: the caller's arrays are read during the call only. Items are drawn at EndPlot (so the
// axes can auto-fit to every item of this frame); an item with the same label as an earlier one shares its colour
// and legend entry. Points that a log axis cannot show (x <= 0 or y <= 0) and non-finite values are skipped.
// Sizes in PlotStyle are for an 18 px font and scale with the current font size.
#pragma once
#include <imgui.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace attnscope::gui::plot {

// ---------------------------------------------------------------- style
enum class Scale { Linear, Log10 };
enum class Axis { X, Y };
// What an axis counts. Bytes: ticks at round values of one binary unit on a linear axis ("0", "5 GiB", "10 GiB"),
// at powers of two on a log axis (every 2^10 — "1 KiB", "1 MiB", "1 GiB" — or 2^5, 2^2, 2^1 as the range
// allows), labelled with binary prefixes; the hover read-out prints bytes the same way.
enum class Unit { Number, Bytes };
enum class Marker { None, Circle, Square, Diamond, TriangleUp, Cross };
// Where the legend box goes. OutsideEast: right of the data area, which narrows to make room; OutsideSouth: below
// the x axis label, entries in columns, the data area gets shorter. Best: the first corner whose box covers no drawn
// point or line, else outside (right, else below) when there is room, else the corner covering the least
// (capture::choose_legend_corner). Same order as capture::FigureLegendCorner.
enum class LegendCorner { NorthWest, NorthEast, SouthWest, SouthEast, OutsideEast, OutsideSouth, Best };

enum PlotFlags_ : int {
  PlotFlags_None = 0,
  PlotFlags_NoLegend = 1 << 0,  // no legend box
  PlotFlags_NoHover = 1 << 1,   // no crosshair / nearest-point read-out
  PlotFlags_NoTitle = 1 << 2,   // the title_id is only an id
};
using PlotFlags = int;

struct PlotStyle {
  float line_weight = 2.0f;         // px, lines of PlotLine
  float marker_size = 4.5f;         // px, marker radius
  float error_bar_cap = 5.0f;       // px, half width of an error bar's caps
  float error_bar_weight = 1.5f;    // px
  float hover_radius = 12.0f;       // px: the nearest point within this distance of the mouse is read out
  double fit_padding = 0.05;        // auto-fit adds this fraction of the range on each side (of log10 range on log axes)
  int target_ticks = 6;             // linear axes: about this many labelled ticks
  LegendCorner legend_corner = LegendCorner::Best;
  ImU32 frame_bg = IM_COL32(22, 24, 28, 255);       // the data area
  ImU32 border = IM_COL32(110, 110, 120, 255);      // its outline
  ImU32 grid_major = IM_COL32(255, 255, 255, 38);   // labelled ticks' grid lines
  ImU32 grid_minor = IM_COL32(255, 255, 255, 14);   // log axes' 2..9 sub-decades
  ImU32 text = IM_COL32(225, 225, 230, 255);        // title, axis labels, tick labels, legend
  ImU32 legend_bg = IM_COL32(16, 17, 20, 215);
  // Okabe–Ito, readable by colour-blind viewers and on a projector; items take them in order.
  ImU32 palette[8] = {IM_COL32(86, 180, 233, 255),  IM_COL32(230, 159, 0, 255),   IM_COL32(0, 158, 115, 255),
                      IM_COL32(204, 121, 167, 255), IM_COL32(240, 228, 66, 255),  IM_COL32(213, 94, 0, 255),
                      IM_COL32(0, 114, 178, 255),   IM_COL32(200, 200, 200, 255)};
};
PlotStyle& GetStyle();  // the process-wide style; change fields before BeginPlot

// Per item; zero / negative fields mean "from PlotStyle" and color 0 means "the label's colour".
struct ItemStyle {
  ImU32 color = 0;
  float line_weight = -1;
  Marker marker = Marker::None;     // PlotLine: markers on the points too; PlotScatter: Circle when None
  float marker_size = -1;
  bool marker_filled = true;
  bool dashed = false;              // PlotLine only
  bool in_legend = true;
  const std::string* notes = nullptr;  // optional, one per point: added to the hover read-out ("out of memory")
};

// ---------------------------------------------------------------- drawing API
// Reserves the plot's rectangle at the cursor. size: -1 = all available width/height, 0 = a default. Returns false
// (and then EndPlot must not be called) when the rectangle is too small to draw into.
bool BeginPlot(const char* title_id, ImVec2 size = ImVec2(-1, 0), PlotFlags flags = PlotFlags_None);
// Axis label (with its unit, e.g. "time (ms)") and scale. Without SetupAxisLimits the axis fits every item.
void SetupAxis(Axis axis, const char* label, Scale scale = Scale::Linear);
void SetupAxisLimits(Axis axis, double min, double max);
// The unit of an axis' values (default Unit::Number); a memory axis passes Unit::Bytes and plots raw bytes.
void SetupAxisUnit(Axis axis, Unit unit);
// Labelled ticks at exactly these values (e.g. powers of two for sequence lengths) instead of the computed ones.
void SetupAxisTicks(Axis axis, std::span<const double> values);
// Custom tick label text for an axis (e.g. "4k" for 4096); nullptr = format_tick.
using TickFormatter = std::string (*)(double value);
void SetupAxisFormat(Axis axis, TickFormatter formatter);

void PlotLine(const char* label, std::span<const double> xs, std::span<const double> ys, const ItemStyle& style = {});
void PlotLine(const char* label, const double* xs, const double* ys, int count, const ItemStyle& style = {});
void PlotScatter(const char* label, std::span<const double> xs, std::span<const double> ys,
                 const ItemStyle& style = {});
void PlotScatter(const char* label, const double* xs, const double* ys, int count, const ItemStyle& style = {});
// Vertical bars from ys[i] - below[i] to ys[i] + above[i] (ImPlot's neg/pos convention).
void PlotErrorBars(const char* label, std::span<const double> xs, std::span<const double> ys,
                   std::span<const double> below, std::span<const double> above, const ItemStyle& style = {});
// Text anchored at a data point, offset in pixels (positive y is down); color 0 = style text colour.
void PlotText(const char* text, double x, double y, ImVec2 pixel_offset = ImVec2(0, 0), ImU32 color = 0);
void EndPlot();

// After EndPlot: the item label and point index the mouse read out in that plot, if any (for tests and callers).
struct HoverInfo {
  bool active = false;
  std::string label;
  int index = -1;
  double x = 0, y = 0;
};
const HoverInfo& LastHover();
// After EndPlot: where its data area was drawn (screen pixels) and the ranges shown (for tests).
struct PlotGeometry {
  ImVec2 min, max;    // the data area
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  Scale x_scale = Scale::Linear, y_scale = Scale::Linear;
  int items = 0, points_drawn = 0;  // points of lines and scatters inside the axes (error bars not counted)
  LegendCorner legend_corner = LegendCorner::NorthWest;  // where the legend was drawn (never Best)
  ImVec2 legend_min, legend_max;  // the legend box (screen pixels); equal when no legend was drawn
  int legend_entries = 0;
  int legend_hollow_markers = 0;  // entries whose marker is drawn hollow (as their items draw it)
  // The legend box and the data area share pixels (a legend drawn over the data).
  bool legend_over_data() const {
    return legend_max.x > legend_min.x && legend_min.x < max.x && legend_max.x > min.x && legend_min.y < max.y &&
           legend_max.y > min.y;
  }
};
const PlotGeometry& LastPlotGeometry();

// ---------------------------------------------------------------- axis math (pure: no ImGui context needed)
struct AxisRange {
  double min = 0, max = 1;
  double span() const { return max - min; }
};
// The range auto-fit shows for these values: the finite ones (and > 0 on a log axis), padded by `padding` of the
// range on each side (in log10 units on a log axis). One value, or all equal: a range around it (±1 linear, ×/÷10
// around a log value). No usable value: [0, 1] linear, [1, 10] log.
AxisRange fit_range(std::span<const double> values, Scale scale, double padding);

struct Tick {
  double value = 0;
  bool labelled = true;  // false: a minor tick (grid line only)
  std::string label;
};
// Linear: ticks at multiples of a 1-2-5 step giving about `target` ticks in [min, max].
// Log10: a labelled tick at every decade 10^k in range (every 2nd/3rd.. when there are more than ~8), minor ticks
// at 2..9 × 10^k; when fewer than two decades are in range, 2× and 5× are labelled too.
std::vector<Tick> compute_ticks(AxisRange range, Scale scale, int target = 6);
// Ticks of a byte axis (Unit::Bytes). Linear: the unit k = binary_unit_of(max |value|), ticks at multiples of a
// 1-2-5 step of 1024^k bytes giving about `target` ticks, labelled in that unit ("0.5 GiB", "1 GiB"). Log10: powers
// of two 2^j in range, labelled every s-th (j a multiple of s, s the first of 1, 2, 5, 10, 20, 30 … leaving at most
// 8 labels), the other powers of two minor; less than two powers of two in range: the linear ticks.
std::vector<Tick> compute_byte_ticks(AxisRange range, Scale scale, int target = 6);
// The 1-2-5 step (1, 2 or 5 × 10^k) nearest above raw / … : nice_step(0.37) = 0.5, nice_step(130) = 200.
double nice_step(double raw);
// Tick text: plain decimals with as many digits as `step` needs ("0.25", "1500"); beyond 1e5 or below 1e-3
// "2·10⁶" / "10⁻⁴" (Unicode superscripts).
std::string format_tick(double value, double step);
// Data -> pixel between p0 (range.min) and p1 (range.max), linear or in log10; and back.
float to_pixel(double v, AxisRange range, Scale scale, float p0, float p1);
double from_pixel(float p, AxisRange range, Scale scale, float p0, float p1);

}  // namespace attnscope::gui::plot
