// test_heatmap_zoom.cpp — the Explore heatmap's zoom: window arithmetic (zoom about a point, pan, clamp,
// integer requests, cell lookup against score_image's split), the visible window recomputed at full
// resolution on the worker (equal to cpu_score_image of that window, drawn where the view says), and the
// block-mask overlay's shading matching core's block mask tile by tile.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <tuple>
#include <cmath>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/views/explore/model.hpp"
#include "app/gui/platform/platform.hpp"
#include "core/cpu_backend.hpp"
#include "core/reference.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

template <class Pred>
bool frames_until(App& app, Platform& platform, Pred done) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    app.frame(platform);
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(90)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int i = 0; i < 3; ++i) app.frame(platform);  // layout settles; the picture is on screen
  return true;
}

struct Frame {
  std::vector<uint8_t> px;
  int w = 0, h = 0;
  std::array<int, 3> at(float x, float y) const {
    const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 4;
    return {px[i], px[i + 1], px[i + 2]};
  }
};

Frame grab(Platform& platform) {
  Frame f;
  REQUIRE(platform.read_pixels(f.px, f.w, f.h));
  return f;
}

bool is_masked_grey(std::array<int, 3> c) {
  return std::abs(c[0] - 72) <= 2 && std::abs(c[1] - 72) <= 2 && std::abs(c[2] - 78) <= 2;
}

}  // namespace

TEST_CASE("zoomed window: recomputed at full resolution on the worker, equal to cpu_score_image, drawn in place") {
  std::string error;
  auto platform = create_headless_platform(1000, 700, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 1000;  // pooled: 512 cells for 1000 tokens
  config.mask = "dense";
  config.causal = true;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  // Rows 300..399 x keys 300..399: the causal diagonal runs through the window's corners.
  app.ui().heatmap_view.pending_zoom = WindowRequest{300, 300, 400, 400};
  const HeatmapViewState& v = app.ui().heatmap_view;
  REQUIRE(frames_until(app, *platform, [&] {
    return app.picture_current() && v.window && v.window->request == WindowRequest{300, 300, 400, 400} &&
           v.window_uploaded;
  }));
  const ScoreImage& w = v.window->image;
  CHECK(w.rows == 100);  // one cell per (q, k)
  CHECK(w.cols == 100);

  // The same window through cpu_score_image on the same head-0 inputs: identical values.
  AttentionSpec spec = app.state().shown->spec;
  spec.batch = spec.q_heads = spec.kv_heads = 1;
  const AttentionInputs inputs = generate_inputs(spec, config.generator, config.seed);
  ScoreImageRequest req;
  req.inputs = &inputs;
  req.q0 = req.k0 = 300;
  req.q1 = req.k1 = 400;
  const ScoreImage expect = cpu_score_image(req, 1);
  REQUIRE(expect.ok);
  REQUIRE(expect.values.size() == w.values.size());
  int finite = 0;
  for (size_t i = 0; i < w.values.size(); ++i) {
    if (std::isnan(expect.values[i])) {
      CHECK(std::isnan(w.values[i]));
    } else {
      ++finite;
      CHECK(w.values[i] == doctest::Approx(expect.values[i]).epsilon(1e-5));
    }
  }
  CHECK(finite == 100 * 101 / 2);  // the causal lower triangle with the diagonal

  // Pixels: above the window's diagonal (k > q) masked grey, below it computed.
  const Frame f = grab(*platform);
  const PixelRect r = app.ui().heatmap_rect;
  REQUIRE(r.w > 100);
  int upper = 0, upper_masked = 0, lower = 0, lower_masked = 0;
  for (int i = 1; i < 30; ++i)
    for (int j = 1; j < 30; ++j) {
      const float u = j / 30.f, t = i / 30.f;  // u: keys (x), t: queries (y)
      if (std::abs(u - t) < 0.06f) continue;
      const bool masked = is_masked_grey(f.at(r.x + u * r.w, r.y + t * r.h));
      if (u > t) { ++upper; upper_masked += masked; }
      else { ++lower; lower_masked += masked; }
    }
  CHECK(upper_masked == upper);
  CHECK(lower_masked == 0);
  app.shutdown();
}

TEST_CASE("block-mask overlay: each tile's shading is the tint of its kind in core's block mask") {
  std::string error;
  auto platform = create_headless_platform(900, 700, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 512;
  config.mask = "window:128+global:8";
  config.causal = true;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  app.ui().heatmap_view.br = app.ui().heatmap_view.bc = 64;
  REQUIRE(frames_until(app, *platform, [&] { return app.settled(); }));
  const Frame plain = grab(*platform);

  app.ui().heatmap_view.show_blocks = true;
  const HeatmapViewState& v = app.ui().heatmap_view;
  REQUIRE(frames_until(app, *platform, [&] { return v.block_mask && v.block_texture_current && app.settled(); }));
  const Frame shaded = grab(*platform);

  const BlockMask expect = build_block_mask(app.state().shown->spec, 64, 64, false);
  REQUIRE(expect.tiles.tr == 8);
  const PixelRect r = app.ui().heatmap_rect;
  int counts[3] = {0, 0, 0};
  for (int64_t i = 0; i < expect.tiles.tr; ++i)
    for (int64_t j = 0; j < expect.tiles.tc; ++j) {
      // Centre of tile (i, j), nudged off the exact centre so it never sits on the causal diagonal.
      const float x = r.x + (static_cast<float>(j) + 0.3f) / 8.f * r.w, y = r.y + (static_cast<float>(i) + 0.7f) / 8.f * r.h;
      const auto base = plain.at(x, y), over = shaded.at(x, y);
      // Which tint explains the shaded pixel: over = tint·a + base·(1 − a)?
      int best = -1;
      double best_err = 1e9;
      for (TileKind kind : {TileKind::Empty, TileKind::Partial, TileKind::Full}) {
        const Rgba8 t = block_overlay_color(kind);
        const double a = t[3] / 255.0;
        double err = 0;
        for (int c = 0; c < 3; ++c) err += std::abs(t[static_cast<size_t>(c)] * a + base[static_cast<size_t>(c)] * (1 - a) - over[static_cast<size_t>(c)]);
        if (err < best_err) { best_err = err; best = static_cast<int>(kind); }
      }
      INFO("tile (" << i << ", " << j << ")");
      CHECK(best == static_cast<int>(expect.at(i, j)));
      CHECK(best_err < 9.0);
      ++counts[best];
    }
  // The scene has every kind: empty tiles above the diagonal, partial on it, full in the global column.
  CHECK(counts[0] > 0);
  CHECK(counts[1] > 0);
  CHECK(counts[2] > 0);
  app.shutdown();
}
