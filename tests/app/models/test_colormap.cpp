// test_colormap.cpp — the heatmap's colour map is perceptually ordered and uniform, and the value scales put
// ticks where the shader puts colours.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "app/gui/gl/colormap.hpp"

using namespace attnscope::gui;

TEST_CASE("colour map: lightness rises monotonically and steps are perceptually equal") {
  const auto map = make_colormap(256);
  REQUIRE(map.size() == 256);
  for (size_t i = 1; i < map.size(); ++i) CHECK(oklab_lightness(map[i]) > oklab_lightness(map[i - 1]) - 0.004);
  CHECK(oklab_lightness(map.back()) - oklab_lightness(map.front()) > 0.6);
  // Equal OKLab distance between neighbours (over 16 entries, so 8-bit rounding hardly matters).
  double lo = 1e9, hi = 0;
  for (size_t i = 16; i < map.size(); i += 16) {
    const double d = oklab_distance(map[i], map[i - 16]);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(hi / lo < 1.1);
  // Dark purple-blue at the bottom (blue > green), yellow at the top (red and green > blue).
  CHECK(map.front()[2] > map.front()[1]);
  CHECK(map.back()[0] > map.back()[2]);
  CHECK(map.back()[1] > map.back()[2]);
}

TEST_CASE("colour maps: viridis and cividis both rise in lightness monotonically; cividis runs blue to yellow") {
  for (ColormapKind kind : kColormapKinds) {
    CAPTURE(colormap_name(kind));
    const auto map = make_colormap(kind, 256);
    REQUIRE(map.size() == 256);
    for (size_t i = 1; i < map.size(); ++i) CHECK(oklab_lightness(map[i]) > oklab_lightness(map[i - 1]) - 0.004);
    CHECK(oklab_lightness(map.back()) - oklab_lightness(map.front()) > 0.6);
    double lo = 1e9, hi = 0;
    for (size_t i = 16; i < map.size(); i += 16) {
      const double d = oklab_distance(map[i], map[i - 16]);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(hi / lo < 1.1);
    ColormapKind back{};
    REQUIRE(parse_colormap(colormap_name(kind), &back));
    CHECK(back == kind);
  }
  ColormapKind ignored{};
  CHECK_FALSE(parse_colormap("jet", &ignored));
  const auto cividis = make_colormap(ColormapKind::Cividis, 256);
  const auto viridis = make_colormap(ColormapKind::Viridis, 256);
  CHECK(cividis != viridis);
  // Dark blue at the bottom: blue well above red (no violet); yellow at the top.
  CHECK(cividis.front()[2] > cividis.front()[0] + 40);
  CHECK(cividis.back()[0] > cividis.back()[2] + 80);
  CHECK(cividis.back()[1] > cividis.back()[2] + 80);
  // The middle is close to a neutral grey (red, green and blue within a few levels of each other).
  const Rgba8 mid = cividis[128];
  CHECK(std::max({mid[0], mid[1], mid[2]}) - std::min({mid[0], mid[1], mid[2]}) < 24);
}

TEST_CASE("linear scale: ends map to 0 and 1, ticks are nice and inside the range") {
  const ValueScale s = ValueScale::fit(false, -2.3, 11.7);
  CHECK(s.to_t(-2.3) == doctest::Approx(0.0));
  CHECK(s.to_t(11.7) == doctest::Approx(1.0));
  CHECK(s.to_t(4.7) == doctest::Approx(0.5));
  const auto ticks = s.ticks(7);
  REQUIRE(ticks.size() == 3);
  for (auto& t : ticks) {
    CHECK(t.value >= -2.3);
    CHECK(t.value <= 11.7);
    CHECK(t.t == doctest::Approx(s.to_t(t.value)));
    CHECK(std::fmod(std::fabs(t.value), 5.0) == doctest::Approx(0.0));  // 1-2-5 step: 5 for a range of 14
  }
  CHECK(ticks.front().label == "0");
  CHECK(ticks.back().label == "10");
}

TEST_CASE("log scale: probabilities use decades, scores (with negatives) use symmetric log") {
  const ValueScale p = ValueScale::fit(true, 0.0, 0.5);
  CHECK(p.mode == ScaleMode::Log10);
  CHECK(p.lo == doctest::Approx(0.5e-6));
  CHECK(p.to_t(0.5) == doctest::Approx(1.0));
  CHECK(p.to_t(0.0) == doctest::Approx(0.0));  // below the floor: floor colour
  CHECK(p.to_t(0.5e-3) == doctest::Approx(0.5));
  for (auto& t : p.ticks(8)) CHECK(std::log10(t.value) == doctest::Approx(std::round(std::log10(t.value))));

  const ValueScale s = ValueScale::fit(true, -4.0, 12.0);
  CHECK(s.mode == ScaleMode::SymLog);
  CHECK(s.forward(-3.0) == doctest::Approx(-s.forward(3.0)));
  CHECK(s.to_t(0.0) > 0.0);
  CHECK(s.to_t(0.0) < 1.0);
  bool has_zero = false;
  for (auto& t : s.ticks()) has_zero |= t.value == 0.0;
  CHECK(has_zero);
}
