// figure_svg.cpp — Figure -> SVG and CSV (see figure.hpp). The layout follows the plot module's on screen: data
// area with grid, border, tick labels, axis labels, legend in a corner; sizes derive from the font size.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "app/gui/capture/figure.hpp"

namespace attnscope::gui::capture {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = static_cast<uint8_t>(bytes[i]);
    const uint32_t b1 = i + 1 < bytes.size() ? static_cast<uint8_t>(bytes[i + 1]) : 0;
    const uint32_t b2 = i + 2 < bytes.size() ? static_cast<uint8_t>(bytes[i + 2]) : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? table[v & 63] : '=');
  }
  return out;
}

// fill="#rrggbb" fill-opacity="a" style attributes from 0xAABBGGRR.
std::string color(Rgba c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff);
  return buf;
}
std::string opacity(Rgba c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3g", ((c >> 24) & 0xff) / 255.0);
  return buf;
}
std::string paint(const char* what, Rgba c) {
  std::string s = std::string(what) + "=\"" + color(c) + "\"";
  if (((c >> 24) & 0xff) != 0xff) s += std::string(" ") + what + "-opacity=\"" + opacity(c) + "\"";
  return s;
}

// Width of a line of text in DejaVu Sans, estimated: about 0.62 em per character (digits are 0.636 em), counted
// in code points so "10⁵" is three characters, not five bytes.
double text_width(const std::string& text, double font_px) {
  std::size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xc0) != 0x80;
  return static_cast<double>(chars) * 0.62 * font_px;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

struct Mapping {
  double x0, y0, x1, y1;  // data area in px (y0 top)
  const FigureAxis* x;
  const FigureAxis* y;
  static double unit(double v, const FigureAxis& a) {
    if (a.log10) return (std::log10(v) - std::log10(a.min)) / (std::log10(a.max) - std::log10(a.min));
    return (v - a.min) / (a.max - a.min);
  }
  bool usable(double vx, double vy) const {
    return std::isfinite(vx) && std::isfinite(vy) && (!x->log10 || vx > 0) && (!y->log10 || vy > 0);
  }
  double px(double v) const { return x0 + unit(v, *x) * (x1 - x0); }
  double py(double v) const { return y1 - unit(v, *y) * (y1 - y0); }
};

void marker_svg(std::ostringstream& o, FigureMarker m, double cx, double cy, double r, Rgba c, bool filled) {
  const std::string style =
      filled ? paint("fill", c) + " stroke=\"none\"" : "fill=\"none\" " + paint("stroke", c) + " stroke-width=\"1.5\"";
  switch (m) {
    case FigureMarker::None:
      return;
    case FigureMarker::Circle:
      o << "<circle cx=\"" << num(cx) << "\" cy=\"" << num(cy) << "\" r=\"" << num(r) << "\" " << style << "/>";
      return;
    case FigureMarker::Square:
      o << "<rect x=\"" << num(cx - r) << "\" y=\"" << num(cy - r) << "\" width=\"" << num(2 * r) << "\" height=\""
        << num(2 * r) << "\" " << style << "/>";
      return;
    case FigureMarker::Diamond:
      o << "<polygon points=\"" << num(cx) << "," << num(cy - r * 1.3) << " " << num(cx + r * 1.3) << "," << num(cy)
        << " " << num(cx) << "," << num(cy + r * 1.3) << " " << num(cx - r * 1.3) << "," << num(cy) << "\" " << style
        << "/>";
      return;
    case FigureMarker::TriangleUp:
      o << "<polygon points=\"" << num(cx) << "," << num(cy - r * 1.3) << " " << num(cx + r * 1.2) << ","
        << num(cy + r * 0.8) << " " << num(cx - r * 1.2) << "," << num(cy + r * 0.8) << "\" " << style << "/>";
      return;
    case FigureMarker::Cross:
      o << "<path d=\"M" << num(cx - r) << "," << num(cy - r) << "L" << num(cx + r) << "," << num(cy + r) << "M"
        << num(cx - r) << "," << num(cy + r) << "L" << num(cx + r) << "," << num(cy - r) << "\" fill=\"none\" "
        << paint("stroke", c) << " stroke-width=\"2\"/>";
      return;
  }
}

}  // namespace

FigureLegendCorner choose_legend_corner(const std::vector<LegendPoint>& covered, double x0, double y0, double x1,
                                        double y1, double w, double h, double margin, double below_h,
                                        double below_room) {
  FigureLegendCorner fewest = FigureLegendCorner::NorthWest;
  std::size_t fewest_count = SIZE_MAX;
  for (FigureLegendCorner corner : {FigureLegendCorner::NorthWest, FigureLegendCorner::NorthEast,
                                    FigureLegendCorner::SouthWest, FigureLegendCorner::SouthEast}) {
    const bool east = corner == FigureLegendCorner::NorthEast || corner == FigureLegendCorner::SouthEast;
    const bool south = corner == FigureLegendCorner::SouthWest || corner == FigureLegendCorner::SouthEast;
    const double lx = east ? x1 - w - margin : x0 + margin, ly = south ? y1 - h - margin : y0 + margin;
    const std::size_t count = static_cast<std::size_t>(std::count_if(covered.begin(), covered.end(), [&](LegendPoint p) {
      return p.x >= lx && p.x <= lx + w && p.y >= ly && p.y <= ly + h;
    }));
    if (count == 0) return corner;
    if (count < fewest_count) fewest_count = count, fewest = corner;
  }
  if (w + 2 * margin <= 0.4 * (x1 - x0)) return FigureLegendCorner::OutsideEast;
  if (below_h <= below_room) return FigureLegendCorner::OutsideSouth;
  return fewest;
}

LegendColumns legend_columns(double width, double entry_w, int entries) {
  LegendColumns c;
  c.columns = std::max(1, std::min(entries, static_cast<int>(width / std::max(1.0, entry_w))));
  c.rows = (entries + c.columns - 1) / c.columns;
  return c;
}

std::string figure_to_svg(const Figure& f) {
  const double fs = f.font_px;
  const bool titled = !f.title.empty();
  const double bar_w = f.colorbar ? fs * 5.5 : 0;
  // Left margin: the y label (rotated, one line) and the widest y tick label; right margin: half the last x label.
  double ytick_w = 0, last_x_half = fs * 0.6;
  for (const FigureTick& t : f.y.ticks) ytick_w = std::max(ytick_w, text_width(t.label, fs));
  for (const FigureTick& t : f.x.ticks)
    if (!t.label.empty() && std::isfinite(t.value) && t.value >= std::min(f.x.min, f.x.max) && t.value <= std::max(f.x.min, f.x.max))
      last_x_half = std::max(fs * 0.6, text_width(t.label, fs) / 2 + fs * 0.2);
  const double left = (f.y.label.empty() ? fs * 0.6 : fs * 1.9) + ytick_w + fs * 0.6;
  Mapping m{left, titled ? fs * 2.4 : fs * 0.9, f.width - std::max(fs * 1.2, last_x_half) - bar_w, f.height - fs * 3.4,
            &f.x, &f.y};

  // Legend: one row per labelled series (the first of each label). Its corner is resolved here, on this figure's
  // own geometry, when the plot asked for the best one; outside on the right, the data area gives up the room.
  std::vector<const FigureSeries*> entries;
  for (const FigureSeries& s : f.series) {
    if (!s.in_legend || s.label.empty()) continue;
    bool seen = false;
    for (const FigureSeries* e : entries) seen = seen || e->label == s.label;
    if (!seen) entries.push_back(&s);
  }
  const bool legend_drawn = f.show_legend && !entries.empty();
  double legend_longest = 0;
  for (const FigureSeries* e : entries) legend_longest = std::max(legend_longest, text_width(e->label, fs));
  const double legend_row = fs * 1.35, legend_w = fs * 2.6 + legend_longest + fs * 0.6,
               legend_h = legend_row * static_cast<double>(entries.size()) + fs * 0.5;
  FigureLegendCorner legend_corner = f.legend;
  if (legend_drawn && legend_corner == FigureLegendCorner::Best) {
    std::vector<LegendPoint> covered;
    for (const FigureSeries& s : f.series)
      for (std::size_t i = 0; i < s.xs.size() && i < s.ys.size(); ++i) {
        if (s.kind == FigureSeries::Kind::ErrorBars && i < s.below.size() && i < s.above.size()) {
          for (double y : {s.ys[i] - s.below[i], s.ys[i] + s.above[i]})
            if (m.usable(s.xs[i], y)) covered.push_back({m.px(s.xs[i]), m.py(y)});
          continue;
        }
        if (!m.usable(s.xs[i], s.ys[i])) continue;
        const LegendPoint p{m.px(s.xs[i]), m.py(s.ys[i])};
        covered.push_back(p);
        if (s.kind == FigureSeries::Kind::Line && i > 0 && m.usable(s.xs[i - 1], s.ys[i - 1])) {
          const LegendPoint q{m.px(s.xs[i - 1]), m.py(s.ys[i - 1])};
          for (int j = 1; j < 8; ++j)  // samples along the segment
            covered.push_back({q.x + (p.x - q.x) * j / 8.0, q.y + (p.y - q.y) * j / 8.0});
        }
      }
    const LegendColumns below = legend_columns(m.x1 - m.x0, legend_w, static_cast<int>(entries.size()));
    legend_corner = choose_legend_corner(covered, m.x0, m.y0, m.x1, m.y1, legend_w, legend_h, fs * 0.5,
                                         legend_row * below.rows + fs * 0.5, f.height * 0.5);
  }
  if (legend_drawn && legend_corner == FigureLegendCorner::OutsideEast) m.x1 -= legend_w + fs * 0.8;
  // Below the plot, the figure grows by the legend's rows (the data area keeps its size).
  const LegendColumns below = legend_columns(m.x1 - m.x0, legend_w, static_cast<int>(entries.size()));
  const double below_h = legend_drawn && legend_corner == FigureLegendCorner::OutsideSouth
                             ? legend_row * below.rows + fs * 0.5 : 0.0;
  const int height = f.height + static_cast<int>(std::ceil(below_h));
  std::ostringstream o;
  const std::string font = "font-family=\"" + xml_escape(f.font_family) + ", sans-serif\" font-size=\"" + num(fs) + "\"";
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" width=\""
    << f.width << "\" height=\"" << height << "\" viewBox=\"0 0 " << f.width << " " << height << "\">\n";
  o << "<title>" << xml_escape(f.title) << "</title>\n";
  o << "<defs><clipPath id=\"data-area\"><rect x=\"" << num(m.x0) << "\" y=\"" << num(m.y0) << "\" width=\""
    << num(m.x1 - m.x0) << "\" height=\"" << num(m.y1 - m.y0) << "\"/></clipPath></defs>\n";
  o << "<rect width=\"100%\" height=\"100%\" " << paint("fill", f.background) << "/>\n";
  o << "<rect x=\"" << num(m.x0) << "\" y=\"" << num(m.y0) << "\" width=\"" << num(m.x1 - m.x0) << "\" height=\""
    << num(m.y1 - m.y0) << "\" " << paint("fill", f.frame_bg) << "/>\n";
  if (f.image && !f.image->png.empty()) {
    o << "<image x=\"" << num(m.x0) << "\" y=\"" << num(m.y0) << "\" width=\"" << num(m.x1 - m.x0) << "\" height=\""
      << num(m.y1 - m.y0) << "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
      << "xlink:href=\"data:image/png;base64," << base64(f.image->png) << "\"/>\n";
  }

  // Grid and tick labels (over a picture only tick marks outside it: grid lines would hide cells).
  const bool over_image = f.image && !f.image->png.empty();
  o << "<g id=\"axes\" " << font << " " << paint("fill", f.text) << ">\n";
  for (const FigureTick& t : f.x.ticks) {
    if (!m.usable(t.value, f.y.log10 ? f.y.max : f.y.min)) continue;
    const double x = m.px(t.value);
    if (x < m.x0 - 0.5 || x > m.x1 + 0.5) continue;
    if (over_image)  // a tick mark below the picture, no grid line across it
      o << "<line x1=\"" << num(x) << "\" y1=\"" << num(m.y1) << "\" x2=\"" << num(x) << "\" y2=\"" << num(m.y1 + fs * 0.3)
        << "\" " << paint("stroke", f.border) << " stroke-width=\"1\"/>";
    else
      o << "<line x1=\"" << num(x) << "\" y1=\"" << num(m.y0) << "\" x2=\"" << num(x) << "\" y2=\"" << num(m.y1) << "\" "
        << paint("stroke", t.label.empty() ? f.grid_minor : f.grid) << " stroke-width=\"1\"/>";
    if (!t.label.empty())
      o << "<text x=\"" << num(x) << "\" y=\"" << num(m.y1 + fs * 1.25) << "\" text-anchor=\"middle\">"
        << xml_escape(t.label) << "</text>";
    o << "\n";
  }
  for (const FigureTick& t : f.y.ticks) {
    if (!m.usable(f.x.log10 ? f.x.max : f.x.min, t.value)) continue;
    const double y = m.py(t.value);
    if (y < m.y0 - 0.5 || y > m.y1 + 0.5) continue;
    if (over_image)
      o << "<line x1=\"" << num(m.x0 - fs * 0.3) << "\" y1=\"" << num(y) << "\" x2=\"" << num(m.x0) << "\" y2=\"" << num(y)
        << "\" " << paint("stroke", f.border) << " stroke-width=\"1\"/>";
    else
      o << "<line x1=\"" << num(m.x0) << "\" y1=\"" << num(y) << "\" x2=\"" << num(m.x1) << "\" y2=\"" << num(y) << "\" "
        << paint("stroke", t.label.empty() ? f.grid_minor : f.grid) << " stroke-width=\"1\"/>";
    if (!t.label.empty())
      o << "<text x=\"" << num(m.x0 - fs * 0.4) << "\" y=\"" << num(y + fs * 0.35) << "\" text-anchor=\"end\">"
        << xml_escape(t.label) << "</text>";
    o << "\n";
  }
  o << "<rect x=\"" << num(m.x0) << "\" y=\"" << num(m.y0) << "\" width=\"" << num(m.x1 - m.x0) << "\" height=\""
    << num(m.y1 - m.y0) << "\" fill=\"none\" " << paint("stroke", f.border) << " stroke-width=\"1\"/>\n";
  o << "<text x=\"" << num((m.x0 + m.x1) / 2) << "\" y=\"" << num(f.height - fs * 0.7)
    << "\" text-anchor=\"middle\">" << xml_escape(f.x.label) << "</text>\n";
  o << "<text transform=\"translate(" << num(fs * 1.1) << "," << num((m.y0 + m.y1) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(f.y.label) << "</text>\n";
  if (titled)
    o << "<text x=\"" << num(f.width / 2.0) << "\" y=\"" << num(fs * 1.5) << "\" text-anchor=\"middle\" "
      << "font-weight=\"bold\">" << xml_escape(f.title) << "</text>\n";
  o << "</g>\n";

  // Series, clipped to the data area.
  o << "<g clip-path=\"url(#data-area)\">\n";
  for (std::size_t s = 0; s < f.series.size(); ++s) {
    const FigureSeries& series = f.series[s];
    const std::size_t n = std::min(series.xs.size(), series.ys.size());
    o << "<g class=\"series\" id=\"series-" << s << "\" data-label=\"" << xml_escape(series.label) << "\">"
      << "<title>" << xml_escape(series.label) << "</title>\n";
    if (series.kind == FigureSeries::Kind::Line) {
      std::string points;
      auto flush = [&] {
        if (points.empty()) return;
        o << "<polyline points=\"" << points << "\" fill=\"none\" " << paint("stroke", series.color)
          << " stroke-width=\"" << num(series.line_width) << "\" stroke-linejoin=\"round\""
          << (series.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
        points.clear();
      };
      for (std::size_t i = 0; i < n; ++i) {
        if (!m.usable(series.xs[i], series.ys[i])) {
          flush();
          continue;
        }
        if (!points.empty()) points += ' ';
        points += num(m.px(series.xs[i]));
        points += ',';
        points += num(m.py(series.ys[i]));
      }
      flush();
    } else if (series.kind == FigureSeries::Kind::Bars) {
      for (std::size_t i = 0; i < n && i < series.x_end.size(); ++i) {
        const double half = series.bar_height / 2;
        if (!m.usable(series.xs[i], series.ys[i] - half) || !m.usable(series.x_end[i], series.ys[i] + half)) continue;
        const double xa = m.px(series.xs[i]), xb = m.px(series.x_end[i]);
        const double ya = m.py(series.ys[i] - half), yb = m.py(series.ys[i] + half);
        o << "<rect x=\"" << num(std::min(xa, xb)) << "\" y=\"" << num(std::min(ya, yb)) << "\" width=\""
          << num(std::max(0.5, std::fabs(xb - xa))) << "\" height=\"" << num(std::max(0.5, std::fabs(yb - ya))) << "\" "
          << paint("fill", series.color) << "/>\n";
      }
    } else if (series.kind == FigureSeries::Kind::ErrorBars) {
      const double cap = fs * 0.3;
      for (std::size_t i = 0; i < n && i < series.below.size() && i < series.above.size(); ++i) {
        const double lo = series.ys[i] - series.below[i], hi = series.ys[i] + series.above[i];
        if (!m.usable(series.xs[i], lo) || !m.usable(series.xs[i], hi)) continue;
        const double x = m.px(series.xs[i]), y0 = m.py(hi), y1 = m.py(lo);
        o << "<path d=\"M" << num(x) << "," << num(y0) << "V" << num(y1) << "M" << num(x - cap) << "," << num(y0) << "H"
          << num(x + cap) << "M" << num(x - cap) << "," << num(y1) << "H" << num(x + cap) << "\" fill=\"none\" "
          << paint("stroke", series.color) << " stroke-width=\"1.5\"/>\n";
      }
    }
    const FigureMarker marker =
        series.kind == FigureSeries::Kind::Scatter && series.marker == FigureMarker::None ? FigureMarker::Circle
                                                                                           : series.marker;
    if (series.kind != FigureSeries::Kind::ErrorBars && series.kind != FigureSeries::Kind::Bars &&
        marker != FigureMarker::None) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!m.usable(series.xs[i], series.ys[i])) continue;
        marker_svg(o, marker, m.px(series.xs[i]), m.py(series.ys[i]), series.marker_size, series.color,
                   series.marker_filled);
        o << "\n";
      }
    }
    o << "</g>\n";
  }
  for (const FigureText& t : f.texts) {
    if (!m.usable(t.x, t.y)) continue;
    o << "<text x=\"" << num(m.px(t.x) + t.dx) << "\" y=\"" << num(m.py(t.y) + t.dy) << "\" " << font << " "
      << paint("fill", t.color ? t.color : f.text) << ">" << xml_escape(t.text) << "</text>\n";
  }
  o << "</g>\n";

  // Colour bar beside the data area.
  if (f.colorbar && !f.colorbar->png.empty()) {
    const FigureColorBar& cb = *f.colorbar;
    const double bx = m.x1 + fs * 0.8, bw = fs * 1.0;
    o << "<g id=\"colorbar\" " << font << " " << paint("fill", f.text) << ">\n";
    o << "<image x=\"" << num(bx) << "\" y=\"" << num(m.y0) << "\" width=\"" << num(bw) << "\" height=\""
      << num(m.y1 - m.y0) << "\" preserveAspectRatio=\"none\" xlink:href=\"data:image/png;base64," << base64(cb.png)
      << "\"/>\n";
    for (const FigureTick& t : cb.ticks) {
      if (cb.max == cb.min) break;
      const double y = m.y1 - (t.value - cb.min) / (cb.max - cb.min) * (m.y1 - m.y0);
      o << "<text x=\"" << num(bx + bw + fs * 0.3) << "\" y=\"" << num(y + fs * 0.35) << "\">" << xml_escape(t.label)
        << "</text>\n";
    }
    o << "<text transform=\"translate(" << num(f.width - fs * 0.5) << "," << num((m.y0 + m.y1) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(cb.label) << "</text>\n</g>\n";
  }

  if (legend_drawn) {
    const double row = legend_row, w = legend_w, h = legend_h;
    const bool outside = legend_corner == FigureLegendCorner::OutsideEast;
    const bool below_plot = legend_corner == FigureLegendCorner::OutsideSouth;
    const bool east = legend_corner == FigureLegendCorner::NorthEast || legend_corner == FigureLegendCorner::SouthEast;
    const bool south = legend_corner == FigureLegendCorner::SouthWest || legend_corner == FigureLegendCorner::SouthEast;
    const int columns = below_plot ? below.columns : 1;
    const double box_w = below_plot ? w * columns : w, box_h = below_plot ? below_h : h;
    const double lx = below_plot ? m.x0 : outside ? m.x1 + fs * 0.8 : east ? m.x1 - w - fs * 0.5 : m.x0 + fs * 0.5;
    const double ly = below_plot ? f.height : outside ? m.y0 : south ? m.y1 - h - fs * 0.5 : m.y0 + fs * 0.5;
    o << "<g id=\"legend\" " << font << ">\n<rect x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\"" << num(box_w)
      << "\" height=\"" << num(box_h) << "\" " << paint("fill", f.background) << " fill-opacity=\"0.85\" "
      << paint("stroke", f.border) << "/>\n";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const FigureSeries& e = *entries[i];
      const std::size_t column = i % static_cast<std::size_t>(columns), line = i / static_cast<std::size_t>(columns);
      const double cy = ly + fs * 0.25 + row * (static_cast<double>(line) + 0.5), sx = lx + fs * 0.4 + w * column;
      if (e.kind == FigureSeries::Kind::Line)
        o << "<line x1=\"" << num(sx) << "\" y1=\"" << num(cy) << "\" x2=\"" << num(sx + fs * 1.6) << "\" y2=\""
          << num(cy) << "\" " << paint("stroke", e.color) << " stroke-width=\"" << num(e.line_width) << "\""
          << (e.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>";
      if (e.kind == FigureSeries::Kind::Bars)
        o << "<rect x=\"" << num(sx) << "\" y=\"" << num(cy - fs * 0.35) << "\" width=\"" << num(fs * 1.6)
          << "\" height=\"" << num(fs * 0.7) << "\" " << paint("fill", e.color) << "/>";
      const FigureMarker mk =
          e.kind == FigureSeries::Kind::Scatter && e.marker == FigureMarker::None ? FigureMarker::Circle : e.marker;
      marker_svg(o, mk, sx + fs * 0.8, cy, e.marker_size, e.color, e.marker_filled);
      o << "<text x=\"" << num(sx + fs * 2.0) << "\" y=\"" << num(cy + fs * 0.35) << "\" " << paint("fill", f.text)
        << ">" << xml_escape(e.label) << "</text>\n";
    }
    o << "</g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string figure_to_csv(const Figure& f) {
  std::ostringstream o;
  o.precision(17);
  o << "series," << csv_field(f.x.label.empty() ? "x" : f.x.label) << "," << csv_field(f.y.label.empty() ? "y" : f.y.label)
    << ",below,above,x_end\n";
  for (const FigureSeries& s : f.series) {
    const std::size_t n = std::min(s.xs.size(), s.ys.size());
    for (std::size_t i = 0; i < n; ++i) {
      o << csv_field(s.label) << "," << s.xs[i] << "," << s.ys[i] << ",";
      if (i < s.below.size()) o << s.below[i];
      o << ",";
      if (i < s.above.size()) o << s.above[i];
      o << ",";
      if (i < s.x_end.size()) o << s.x_end[i];
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace attnscope::gui::capture
