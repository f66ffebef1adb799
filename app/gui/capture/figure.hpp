// figure.hpp — a plot as data, for export: what the plot module drew in a frame (axes with their exact ticks,
// series, text, an optional image such as a heatmap with its colour bar), written as SVG (vector: lines, markers and
// text stay lines, markers and text, with the font named) and its data as CSV. No ImGui or GL here: the plot
// module fills a Figure at EndPlot, and tests build one by hand.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope::gui::capture {

using Rgba = uint32_t;  // 0xAABBGGRR, as ImGui's IM_COL32

enum class FigureMarker { None, Circle, Square, Diamond, TriangleUp, Cross };
// Where the legend box goes: a corner inside the data area; outside it on the right (the data area narrows to make
// room) or below the x axis label (entries in columns; on screen the data area gets shorter, a figure gets taller);
// or Best: see choose_legend_corner. Same order as plot::LegendCorner.
enum class FigureLegendCorner { NorthWest, NorthEast, SouthWest, SouthEast, OutsideEast, OutsideSouth, Best };

struct LegendPoint {
  double x = 0, y = 0;  // px
};
// The corner for a legend box of w x h px, `margin` px inside the data area [x0, x1] x [y0, y1] (y down), over the
// drawn points and line samples `covered`: the first corner (NorthWest, NorthEast, SouthWest, SouthEast) whose box
// covers none of them; when every corner covers some (a figure should not hide data), OutsideEast if the box takes
// at most 40 % of the area's width, else OutsideSouth if the legend laid out in columns below (`below_h` px high)
// fits in `below_room` px (on screen it takes height from the data area; a figure grows instead), else the corner
// covering the fewest.
FigureLegendCorner choose_legend_corner(const std::vector<LegendPoint>& covered, double x0, double y0, double x1,
                                        double y1, double w, double h, double margin, double below_h,
                                        double below_room);

// The legend in columns below the plot: how many columns of `entry_w` px fit in `width`, and the rows they need.
struct LegendColumns {
  int columns = 1, rows = 0;
};
LegendColumns legend_columns(double width, double entry_w, int entries);

struct FigureTick {
  double value = 0;
  std::string label;     // "" : a minor tick (grid line only)
};

struct FigureAxis {
  std::string label;     // with its unit: "time (ms)"
  bool log10 = false;
  double min = 0, max = 1;
  std::vector<FigureTick> ticks;
};

struct FigureSeries {
  // Bars: horizontal bars, point i from x = xs[i] to x = x_end[i], centred on y = ys[i], bar_height thick (in y's
  // data units): a Gantt chart's spans.
  enum class Kind { Line, Scatter, ErrorBars, Bars };
  Kind kind = Kind::Line;
  std::string label;
  Rgba color = 0xff000000;
  std::vector<double> xs, ys;
  std::vector<double> below, above;  // ErrorBars: from y - below to y + above
  std::vector<double> x_end;         // Bars: where each bar ends
  double bar_height = 0.8;           // Bars
  FigureMarker marker = FigureMarker::None;
  bool marker_filled = true;
  bool dashed = false;
  bool in_legend = true;
  float line_width = 2.0f, marker_size = 4.5f;  // px at the figure's font size
};

struct FigureText {
  std::string text;
  double x = 0, y = 0;        // data coordinates
  float dx = 0, dy = 0;       // pixel offset (positive y is down)
  Rgba color = 0;             // 0 : the figure's text colour
};

// A raster inside the data area (a heatmap): PNG bytes drawn over the axes' full range, and an optional colour bar.
struct FigureImage {
  std::string png;            // the PNG file's bytes (embedded as a data URI)
  int width = 0, height = 0;  // its pixels
};
struct FigureColorBar {
  std::string png;            // a 1-pixel-wide (or wider) strip, top = max
  double min = 0, max = 1;
  std::string label;
  std::vector<FigureTick> ticks;
};

struct Figure {
  std::string title;
  int width = 900, height = 560;      // SVG user units (px)
  double font_px = 15;
  std::string font_family = "DejaVu Sans";
  Rgba background = 0xff1c1816, frame_bg = 0xff1c1816, border = 0xff786e6e, grid = 0x26ffffff,
       grid_minor = 0x0effffff, text = 0xffe6e1e1;
  FigureAxis x, y;
  std::vector<FigureSeries> series;
  std::vector<FigureText> texts;
  FigureLegendCorner legend = FigureLegendCorner::NorthWest;
  bool show_legend = true;
  std::optional<FigureImage> image;
  std::optional<FigureColorBar> colorbar;
};

// A standalone SVG 1.1 document. Points a log axis cannot show (<= 0) and non-finite values are left out, as on
// screen; lines break at them.
std::string figure_to_svg(const Figure& figure);
// "series,x,y,below,above,x_end" with a header line; every point of every series, in order (also the skipped ones);
// below/above are filled for error bars, x_end for bars.
std::string figure_to_csv(const Figure& figure);

}  // namespace attnscope::gui::capture
