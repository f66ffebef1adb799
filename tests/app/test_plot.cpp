// test_plot.cpp — the plot module's axis arithmetic (ranges, 1-2-5 steps, linear and log ticks, tick text,
// data <-> pixel) and a headless frame asserting that a plotted curve lies inside its axes.
#include <doctest/doctest.h>

#include <backends/imgui_impl_opengl3.h>
#include <glad/gl.h>

#include <cmath>
#include <vector>

#include "app/gui/platform/platform.hpp"
#include "app/gui/plot/plot.hpp"

using namespace attnscope::gui;
using namespace attnscope::gui::plot;

namespace {
std::vector<double> labelled_values(const std::vector<Tick>& ticks) {
  std::vector<double> v;
  for (auto& t : ticks)
    if (t.labelled) v.push_back(t.value);
  return v;
}
}  // namespace

TEST_CASE("plot: 1-2-5 steps") {
  CHECK(nice_step(0.37) == doctest::Approx(0.5));
  CHECK(nice_step(130) == doctest::Approx(200));
  CHECK(nice_step(1.0) == doctest::Approx(1.0));
  CHECK(nice_step(1.01) == doctest::Approx(2.0));
  CHECK(nice_step(7) == doctest::Approx(10));
  CHECK(nice_step(0.0021) == doctest::Approx(0.005));
  CHECK(nice_step(-3) == 1);  // nonsense in, a usable step out
}

TEST_CASE("plot: linear ticks are multiples of the step inside the range") {
  const auto ticks = compute_ticks({0.13, 9.7}, Scale::Linear, 5);
  REQUIRE(ticks.size() >= 4);
  const double step = ticks[1].value - ticks[0].value;
  CHECK(step == doctest::Approx(2.0));  // 9.57 / 5 = 1.9 -> 2
  for (auto& t : ticks) {
    CHECK(t.value >= 0.13);
    CHECK(t.value <= 9.7);
    CHECK(std::fabs(t.value / step - std::round(t.value / step)) < 1e-9);
  }
  CHECK(ticks.front().label == "2");
  // A range through zero has an exact "0" tick, never "-0".
  const auto around = compute_ticks({-0.3, 0.3}, Scale::Linear, 6);
  bool zero = false;
  for (auto& t : around) zero |= t.label == "0";
  CHECK(zero);
  CHECK(compute_ticks({1, 1}, Scale::Linear, 6).empty());  // empty range: no ticks, no endless loop
}

TEST_CASE("plot: log ticks are decades with 2..9 minor ticks") {
  const auto ticks = compute_ticks({20, 2e6}, Scale::Log10, 6);
  CHECK(labelled_values(ticks) == std::vector<double>{100, 1000, 10000, 100000, 1000000});
  int minor = 0;
  for (auto& t : ticks) minor += t.labelled ? 0 : 1;
  CHECK(minor == 8 + 4 * 8 + 1);  // 20..90 (8), four full decades of 2..9 (32), 2·10⁶ (1)
  CHECK(ticks.back().value == doctest::Approx(2e6));
  // Less than two decades: 2× and 5× are labelled too.
  CHECK(labelled_values(compute_ticks({150, 6000}, Scale::Log10, 6)) ==
        std::vector<double>{200, 500, 1000, 2000, 5000});
  // Inside one decade without a power of ten: every sub-decade tick is labelled.
  CHECK(labelled_values(compute_ticks({250, 850}, Scale::Log10, 6)) ==
        std::vector<double>{300, 400, 500, 600, 700, 800});
  // Many decades: at most 8 labels, every 3rd decade here (19 decades).
  const auto wide = labelled_values(compute_ticks({1e-9, 1e9}, Scale::Log10, 6));
  CHECK(wide == std::vector<double>{1e-9, 1e-6, 1e-3, 1, 1e3, 1e6, 1e9});
  CHECK(compute_ticks({-1, 10}, Scale::Log10, 6).empty());  // a log axis cannot start at or below zero
}

TEST_CASE("plot: byte axes tick at round binary values, never at powers of ten") {
  const double KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  // Log: the Scaling sweep's memory plot spans 100 KB .. 32 GB: powers of 2^5 labelled, every power of two a minor
  // tick.
  const auto log_ticks = compute_byte_ticks({1e5, 3.5e10}, Scale::Log10, 6);
  CHECK(labelled_values(log_ticks) == std::vector<double>{MiB, 32 * MiB, GiB, 32 * GiB});
  std::vector<std::string> labels;
  for (auto& t : log_ticks)
    if (t.labelled) labels.push_back(t.label);
  CHECK(labels == std::vector<std::string>{"1 MiB", "32 MiB", "1 GiB", "32 GiB"});
  for (auto& t : log_ticks) CHECK(std::fabs(std::log2(t.value) - std::round(std::log2(t.value))) < 1e-12);
  CHECK(log_ticks.size() == 35 - 17 + 1);  // 2^17 .. 2^35
  // A wide range labels every 2^10 ("1 KiB", "1 MiB", ...), at most 8 labels.
  const auto wide = labelled_values(compute_byte_ticks({1, 1e15}, Scale::Log10, 6));
  CHECK(wide == std::vector<double>{1, KiB, MiB, GiB, GiB * 1024});
  // Less than a factor of four: every power of two is labelled.
  CHECK(labelled_values(compute_byte_ticks({3 * MiB, 9 * MiB}, Scale::Log10, 6)) == std::vector<double>{4 * MiB, 8 * MiB});
  // Linear: 0 .. 24.7 GiB of host memory: steps of 5 GiB, labelled in GiB.
  const auto lin = compute_byte_ticks({0, 24.7 * GiB}, Scale::Linear, 6);
  std::vector<std::string> lin_labels;
  for (auto& t : lin) lin_labels.push_back(t.label);
  CHECK(lin_labels == std::vector<std::string>{"0", "5 GiB", "10 GiB", "15 GiB", "20 GiB"});
  // Below a GiB the unit drops: 0 .. 700 MiB in steps of 200 MiB; fractions of the unit get decimals.
  CHECK(compute_byte_ticks({0, 700 * MiB}, Scale::Linear, 6)[1].label == "200 MiB");
  CHECK(compute_byte_ticks({1 * GiB, 2.2 * GiB}, Scale::Linear, 6)[1].label == "1.2 GiB");
}

TEST_CASE("plot: tick text") {
  CHECK(format_tick(1500, 500) == "1500");
  CHECK(format_tick(0.25, 0.05) == "0.25");
  CHECK(format_tick(0.2, 0.2) == "0.2");
  CHECK(format_tick(3, 1) == "3");
  CHECK(format_tick(0, 0.1) == "0");
  CHECK(format_tick(1e6, 1e6) == "10⁶");
  CHECK(format_tick(2e6, 1e6) == "2·10⁶");
  CHECK(format_tick(1e-4, 1e-4) == "10⁻⁴");
  CHECK(format_tick(0.002, 0.002) == "0.002");
}

TEST_CASE("plot: auto-fit ranges") {
  const std::vector<double> v = {2, 4, 8, NAN, INFINITY};
  const AxisRange lin = fit_range(v, Scale::Linear, 0.05);
  CHECK(lin.min == doctest::Approx(2 - 0.3));
  CHECK(lin.max == doctest::Approx(8 + 0.3));
  const std::vector<double> w = {256, 65536, -1, 0};  // non-positive values cannot be shown on a log axis
  const AxisRange lg = fit_range(w, Scale::Log10, 0.0);
  CHECK(lg.min == doctest::Approx(256));
  CHECK(lg.max == doctest::Approx(65536));
  const AxisRange padded = fit_range(w, Scale::Log10, 0.1);
  CHECK(std::log10(256) - std::log10(padded.min) == doctest::Approx(0.1 * std::log10(256.0)));
  const std::vector<double> one = {5};
  CHECK(fit_range(one, Scale::Linear, 0.05).min == doctest::Approx(4));
  CHECK(fit_range(one, Scale::Log10, 0.05).max == doctest::Approx(50));
  CHECK(fit_range({}, Scale::Log10, 0.05).min == doctest::Approx(1));
}

TEST_CASE("plot: data <-> pixel, linear and log") {
  const AxisRange r{10, 1000};
  CHECK(to_pixel(100, r, Scale::Log10, 0, 200) == doctest::Approx(100));  // 100 is halfway in log10
  CHECK(to_pixel(100, r, Scale::Linear, 0, 990) == doctest::Approx(90));
  CHECK(to_pixel(10, r, Scale::Log10, 500, 100) == doctest::Approx(500));  // y axes run bottom to top
  for (double v : {12.0, 77.0, 640.0}) {
    CHECK(from_pixel(to_pixel(v, r, Scale::Log10, 3, 411), r, Scale::Log10, 3, 411) == doctest::Approx(v));
    CHECK(from_pixel(to_pixel(v, r, Scale::Linear, 3, 411), r, Scale::Linear, 3, 411) == doctest::Approx(v));
  }
}

TEST_CASE("plot: a headless frame draws every point inside the data area") {
  std::string error;
  auto platform = create_headless_platform(640, 400, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);  // display_main.cpp skips the suite without EGL
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  const std::vector<double> n = {256, 512, 1024, 2048, 4096};
  std::vector<double> t, err;
  for (double x : n) {
    t.push_back(1e-6 * x * x);
    err.push_back(0.1 * 1e-6 * x * x);
  }
  PlotGeometry geo;
  HoverInfo hover;
  ImVec2 third_point(-1, -1);  // where N = 1024 was drawn, from the previous frame's geometry
  for (int frame = 0; frame < 5; ++frame) {
    platform->imgui_new_frame();
    if (frame >= 2) ImGui::GetIO().MousePos = third_point;  // frames 2..4: the pointer rests on the third point
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(640, 400));
    ImGui::Begin("plot test", nullptr, ImGuiWindowFlags_NoDecoration);
    REQUIRE(BeginPlot("t against N", ImVec2(-1, -1)));
    SetupAxis(Axis::X, "N (tokens)", Scale::Log10);
    SetupAxis(Axis::Y, "time (ms)", Scale::Log10);
    PlotLine("naive", n, t, ItemStyle{.marker = Marker::Circle});
    PlotErrorBars("naive", n, t, err, err);
    EndPlot();
    geo = LastPlotGeometry();
    hover = LastHover();
    third_point = ImVec2(to_pixel(1024, {geo.x_min, geo.x_max}, geo.x_scale, geo.min.x, geo.max.x),
                         to_pixel(t[2], {geo.y_min, geo.y_max}, geo.y_scale, geo.max.y, geo.min.y));
    ImGui::End();
    ImGui::Render();
    platform->bind_target();
    glClearColor(0, 0, 0, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    platform->end_frame();
  }
  CHECK(geo.points_drawn == 5);
  // The hover read-out found the point under the pointer.
  CHECK(hover.active);
  CHECK(hover.label == "naive");
  CHECK(hover.index == 2);
  CHECK(hover.x == doctest::Approx(1024));
  CHECK(hover.y == doctest::Approx(t[2]));
  CHECK(geo.x_min < 256);
  CHECK(geo.x_max > 4096);
  CHECK(geo.y_min < t.front() - err.front());  // auto-fit covers the error bars
  CHECK(geo.y_max > t.back() + err.back());
  CHECK(geo.min.x > 20);  // room for the y label and ticks
  CHECK(geo.max.y < 400 - 20);
  // The curve's colour (the palette's first) appears inside the data area and nowhere left of it.
  std::vector<uint8_t> px;
  int w = 0, h = 0;
  REQUIRE(platform->read_pixels(px, w, h));
  const ImU32 c = GetStyle().palette[0];
  const int cr = c & 0xFF, cg = (c >> 8) & 0xFF, cb = (c >> 16) & 0xFF;
  int inside = 0, outside = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = px.data() + (static_cast<size_t>(y) * w + x) * 4;
      if (std::abs(p[0] - cr) > 8 || std::abs(p[1] - cg) > 8 || std::abs(p[2] - cb) > 8) continue;
      const bool in = x >= geo.min.x - 1 && x <= geo.max.x + 1 && y >= geo.min.y - 1 && y <= geo.max.y + 1;
      (in ? inside : outside) += 1;
    }
  CHECK(inside > 100);
  CHECK(outside < inside / 5);  // the legend swatch is inside too; only anti-aliasing strays
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}

TEST_CASE("plot: the legend goes to the corner that hides the least data, unless a corner is asked for") {
  std::string error;
  auto platform = create_headless_platform(640, 400, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  // Draws one frame of y against x with a legend; returns the corner the legend was drawn in.
  auto legend_corner_for = [&](const std::vector<double>& x, const std::vector<double>& y, LegendCorner asked) {
    const LegendCorner saved = GetStyle().legend_corner;
    GetStyle().legend_corner = asked;
    platform->imgui_new_frame();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(640, 400));
    ImGui::Begin("legend test", nullptr, ImGuiWindowFlags_NoDecoration);
    REQUIRE(BeginPlot("legend", ImVec2(-1, -1)));
    PlotLine("a series with a long label", x, y, ItemStyle{.marker = Marker::Circle});
    EndPlot();
    const LegendCorner drawn = LastPlotGeometry().legend_corner;
    ImGui::End();
    ImGui::Render();
    platform->end_frame();
    GetStyle().legend_corner = saved;
    return drawn;
  };
  std::vector<double> x, rising, falling, top_row;
  for (int i = 0; i <= 40; ++i) {
    x.push_back(i);
    rising.push_back(i);         // bottom-left to top-right: the north-west corner is empty
    falling.push_back(40 - i);   // top-left to bottom-right: north-west and south-east are covered
    top_row.push_back(i < 30 ? 40 : 40 - 4 * (i - 30));  // across the top, then down the right edge
  }
  CHECK(legend_corner_for(x, rising, LegendCorner::Best) == LegendCorner::NorthWest);
  CHECK(legend_corner_for(x, falling, LegendCorner::Best) == LegendCorner::NorthEast);
  CHECK(legend_corner_for(x, top_row, LegendCorner::Best) == LegendCorner::SouthWest);
  CHECK(legend_corner_for(x, falling, LegendCorner::NorthWest) == LegendCorner::NorthWest);  // asked: kept
  // Data in every corner: the legend moves out to the right and the data area gives up the room.
  std::vector<double> zigzag;
  for (int i = 0; i <= 40; ++i) zigzag.push_back(i % 2 == 0 ? 0 : 40);
  const float full_width_right = [&] {
    legend_corner_for(x, rising, LegendCorner::Best);
    return LastPlotGeometry().max.x;
  }();
  CHECK(legend_corner_for(x, zigzag, LegendCorner::Best) == LegendCorner::OutsideEast);
  CHECK(LastPlotGeometry().max.x < full_width_right - 100);
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}
