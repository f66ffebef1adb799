// test_figure_svg.cpp — a plot exported as SVG parses as XML, holds every series of the plot by label, keeps text as
// text with the font named, leaves out what a log axis cannot show; CSV holds every point.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>

#include <tinyxml2.h>

#include "app/gui/capture/figure.hpp"

using namespace attnscope::gui::capture;

namespace {

Figure sample_figure() {
  Figure f;
  f.title = "Time against N <naive & flash>";
  f.x = {"sequence length N (tokens)", true, 256, 65536, {{256, "256"}, {1024, "1k"}, {4096, "4k"}, {2048, ""}}};
  f.y = {"median time (ms)", true, 0.01, 1000, {{0.01, "0.01"}, {1, "1"}, {100, "100"}}};
  FigureSeries naive;
  naive.label = "naive";
  naive.color = 0xff0094d5;
  naive.xs = {256, 1024, 4096, 16384, 65536};
  naive.ys = {0.05, 0.7, 11, 180, NAN};  // out of memory at the last point: left out
  naive.marker = FigureMarker::Circle;
  FigureSeries flash;
  flash.label = "flash";
  flash.xs = {256, 1024, 4096, 16384, 65536};
  flash.ys = {0.04, 0.3, 4, 60, 950};
  flash.dashed = true;
  flash.marker = FigureMarker::Square;
  FigureSeries bars;
  bars.kind = FigureSeries::Kind::ErrorBars;
  bars.label = "flash";
  bars.xs = flash.xs;
  bars.ys = flash.ys;
  bars.below = {0.001, 0.01, 0.1, 1, 10};
  bars.above = {0.002, 0.02, 0.2, 2, 20};
  FigureSeries oom;
  oom.kind = FigureSeries::Kind::Scatter;
  oom.label = "out of memory";
  oom.xs = {65536};
  oom.ys = {-1};  // not showable on a log axis
  f.series = {naive, flash, bars, oom};
  f.texts = {{"O(N²)", 4096, 11, 4, -4, 0}};
  return f;
}

}  // namespace

TEST_CASE("figure SVG: well-formed XML with every series, text as text, the font named") {
  const Figure f = sample_figure();
  const std::string svg = figure_to_svg(f);
  tinyxml2::XMLDocument doc;
  REQUIRE(doc.Parse(svg.c_str()) == tinyxml2::XML_SUCCESS);
  const tinyxml2::XMLElement* root = doc.RootElement();
  REQUIRE(root);
  CHECK(std::string(root->Name()) == "svg");
  CHECK(root->IntAttribute("width") == f.width);

  std::set<std::string> labels;
  int polylines = 0, circles = 0, rects_in_series = 0, texts = 0;
  bool font_named = false, title_found = false, label_found = false;
  // Walk every element.
  std::vector<const tinyxml2::XMLElement*> stack{root};
  while (!stack.empty()) {
    const tinyxml2::XMLElement* e = stack.back();
    stack.pop_back();
    const std::string name = e->Name();
    if (name == "g" && e->Attribute("class") && std::string(e->Attribute("class")) == "series") {
      labels.insert(e->Attribute("data-label"));
      for (auto* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) {
        const std::string cn = c->Name();
        polylines += cn == "polyline";
        circles += cn == "circle";
        rects_in_series += cn == "rect";
      }
    }
    if (name == "text") {
      ++texts;
      const char* t = e->GetText();
      if (t && std::string(t) == "Time against N <naive & flash>") title_found = true;
      if (t && std::string(t) == "sequence length N (tokens)") label_found = true;
    }
    if (e->Attribute("font-family") && std::string(e->Attribute("font-family")).find("DejaVu Sans") == 0)
      font_named = true;
    for (auto* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) stack.push_back(c);
  }
  CHECK(labels == std::set<std::string>{"naive", "flash", "out of memory"});
  CHECK(polylines == 2);          // naive (NaN last point dropped, one segment) and flash
  CHECK(circles == 4);            // naive's four showable points; the out-of-memory point at y = -1 is left out
  CHECK(rects_in_series == 5);    // flash's square markers
  CHECK(title_found);
  CHECK(label_found);
  CHECK(font_named);
  CHECK(texts >= 8);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);
  CHECK(svg.find("O(N²)") != std::string::npos);
}

TEST_CASE("figure CSV: a header and every point of every series, labels quoted when needed") {
  Figure f = sample_figure();
  f.series[0].label = "naive, fp32";
  const std::string csv = figure_to_csv(f);
  int lines = 0;
  for (char c : csv) lines += c == '\n';
  CHECK(lines == 1 + 5 + 5 + 5 + 1);
  CHECK(csv.rfind("series,sequence length N (tokens),median time (ms),below,above,x_end\n", 0) == 0);
  CHECK(csv.find("\"naive, fp32\",65536,nan,,,\n") != std::string::npos);
  CHECK(csv.find("flash,16384,60,1,2,\n") != std::string::npos);
}

TEST_CASE("figure SVG: an embedded heatmap image and colour bar are data URIs") {
  Figure f;
  f.x = {"key j", false, 0, 64, {{0, "0"}, {64, "64"}}};
  f.y = {"query i", false, 0, 64, {{0, "0"}, {64, "64"}}};
  f.image = FigureImage{std::string("\x89PNG\r\n\x1a\nabc", 11), 64, 64};
  f.colorbar = FigureColorBar{std::string("\x89PNG\r\n\x1a\nx", 9), -2, 3, "score S", {{-2, "-2"}, {3, "3"}}};
  const std::string svg = figure_to_svg(f);
  tinyxml2::XMLDocument doc;
  REQUIRE(doc.Parse(svg.c_str()) == tinyxml2::XML_SUCCESS);
  CHECK(svg.find("data:image/png;base64,iVBORw0KGgphYmM=") != std::string::npos);
  CHECK(svg.find(">score S</text>") != std::string::npos);
}

TEST_CASE("legend corner: the first empty corner, else outside on the right, else below, else the least covered") {
  // Data area 0..100 x 0..100 px, legend box 30 x 20 px with a 5 px margin: corners span 5..35 and 65..95.
  const std::vector<LegendPoint> north_west = {{10, 10}, {20, 15}};
  CHECK(choose_legend_corner(north_west, 0, 0, 100, 100, 30, 20, 5, 40, 35) == FigureLegendCorner::NorthEast);
  CHECK(choose_legend_corner({}, 0, 0, 100, 100, 30, 20, 5, 40, 35) == FigureLegendCorner::NorthWest);
  const std::vector<LegendPoint> every_corner = {{10, 10}, {90, 10}, {10, 90}, {90, 90}, {91, 91}};
  CHECK(choose_legend_corner(every_corner, 0, 0, 100, 100, 30, 20, 5, 40, 35) == FigureLegendCorner::OutsideEast);
  // Too wide for the right side (60 + 10 > 40 % of 100): below, when its rows fit the room given.
  CHECK(choose_legend_corner(every_corner, 0, 0, 100, 100, 60, 20, 5, 30, 35) == FigureLegendCorner::OutsideSouth);
  // No room below either: the corner covering the fewest points (north-west covers one, south-east two; ties
  // keep the first).
  CHECK(choose_legend_corner(every_corner, 0, 0, 100, 100, 60, 20, 5, 50, 35) == FigureLegendCorner::NorthWest);
  CHECK(legend_columns(300, 100, 5).columns == 3);
  CHECK(legend_columns(300, 100, 5).rows == 2);
  CHECK(legend_columns(50, 100, 2).columns == 1);  // one column at least
  CHECK(legend_columns(50, 100, 2).rows == 2);
}

TEST_CASE("figure SVG: a Best legend that would hide data goes below the plot and the figure grows") {
  Figure f = sample_figure();
  f.legend = FigureLegendCorner::Best;
  f.width = 360;  // too narrow for the legend on the right
  f.height = 300;
  f.font_px = 15;
  // Wide labels and data through every corner of the data area.
  f.series[0].label = "naive attention, the whole score matrix in memory";
  f.series[1].label = "FlashAttention, tiles on chip";
  f.series[2].label = f.series[1].label;
  f.series[0].xs = {256, 65536, 256, 65536};
  f.series[0].ys = {0.01, 1000, 1000, 0.01};
  const std::string svg = figure_to_svg(f);
  tinyxml2::XMLDocument doc;
  REQUIRE(doc.Parse(svg.c_str()) == tinyxml2::XML_SUCCESS);
  const int height = doc.RootElement()->IntAttribute("height");
  CHECK(height > f.height);  // the legend's rows were added below
  const tinyxml2::XMLElement* legend = nullptr;
  for (const tinyxml2::XMLElement* g = doc.RootElement()->FirstChildElement("g"); g; g = g->NextSiblingElement("g"))
    if (std::string(g->Attribute("id") ? g->Attribute("id") : "") == "legend") legend = g;
  REQUIRE(legend);
  CHECK(legend->FirstChildElement("rect")->DoubleAttribute("y") >= f.height);  // below the original figure
}
