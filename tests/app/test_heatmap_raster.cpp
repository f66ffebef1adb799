// test_heatmap_raster.cpp — the exported heatmap picture (the CPU twin of shaders/heatmap.frag) shades a pooled cell
// by the share of its pairs the mask allows: a pooled picture of random:0.1 at N = 4096 is about one tenth colour.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "app/gui/capture/heatmap_figure.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;
using namespace attnscope::gui::capture;

TEST_CASE("heatmap raster: a cell is mix(masked grey, colour map, share allowed)") {
  const std::vector<float> values = {1.0f, 1.0f, NAN};
  const std::vector<float> allowed = {1.0f, 0.25f, 0.0f};
  HeatmapExport h;
  h.values = &values;
  h.allowed = &allowed;
  h.rows = 1;
  h.cols = 3;
  h.scale = ValueScale::fit(false, 0.0, 2.0);
  const RasterImage img = heatmap_raster(h);
  REQUIRE(img.width == 3);
  for (int ch = 0; ch < 3; ++ch) {
    const int full = img.rgba[static_cast<size_t>(ch)], quarter = img.rgba[static_cast<size_t>(4 + ch)];
    CHECK(quarter == std::lround(h.masked_color[ch] + 0.25 * (full - h.masked_color[ch])));
    CHECK(img.rgba[static_cast<size_t>(8 + ch)] == h.masked_color[ch]);
  }
}

TEST_CASE("heatmap raster: random:0.1 pooled 8 x 8 at N = 4096 is shaded about 0.1, not drawn dense") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 4096;
  spec.head_dim = 8;
  spec.mask = parse_mask("random:0.1").mask;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 2);
  ScoreImageRequest req;
  req.inputs = &in;
  const ScoreImage image = cpu_score_image(req, 2);
  REQUIRE_MESSAGE(image.ok, image.error);
  HeatmapExport h;
  h.values = &image.values;
  h.allowed = &image.allowed;
  h.rows = image.rows;
  h.cols = image.cols;
  h.scale = ValueScale::fit(false, image.min_value, image.max_value);
  const RasterImage shaded = heatmap_raster(h);
  h.allowed = nullptr;  // the picture as drawn before: each cell in full colour when any pair is allowed
  const RasterImage unshaded = heatmap_raster(h);
  // A pixel's shade: how far it is from the masked grey, as a share of its full colour's distance (the channel that
  // differs most).
  double shade_sum = 0, unshaded_sum = 0;
  int64_t pixels = 0;
  for (size_t p = 0; p < static_cast<size_t>(image.rows) * image.cols; ++p) {
    int best = 0;
    for (int ch = 1; ch < 3; ++ch)
      if (std::abs(unshaded.rgba[4 * p + ch] - h.masked_color[ch]) > std::abs(unshaded.rgba[4 * p + best] - h.masked_color[best]))
        best = ch;
    const double full = unshaded.rgba[4 * p + best] - h.masked_color[best];
    ++pixels;
    if (full == 0) continue;  // a cell whose colour is the grey itself says nothing
    shade_sum += (shaded.rgba[4 * p + best] - h.masked_color[best]) / full;
    unshaded_sum += 1.0;
  }
  CHECK(shade_sum / static_cast<double>(pixels) == doctest::Approx(0.1).epsilon(0.2));  // 0.1 ± 0.02
  CHECK(unshaded_sum / static_cast<double>(pixels) > 0.99);  // what it looked like: dense
}
