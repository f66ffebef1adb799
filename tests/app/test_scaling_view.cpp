// test_scaling_view.cpp — the Scaling mode in-process on a headless EGL platform with the CPU backend: a real (small)
// sweep, a timing run, the measured ceilings and the status bar's memory arrive; every panel renders and its plot
// holds the expected points inside its axes; Cancel stops a sweep and keeps what was measured.
// With ATTNSCOPE_TEST_PNG_DIR set, each panel is also written there as a PNG (for looking at it);
// ATTNSCOPE_TEST_DEFAULT_SWEEP=1 uses the mode's default sweep instead of the small one.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/platform/png_write.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/scaling/model.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

bool frames_until(App& app, Platform& platform, const std::function<bool()>& done, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    app.frame(platform);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Pixels of colour `c` (±10 per channel) right of x_from: inside and outside a rectangle.
// Pixels of colour c right of x_from: inside the rectangle r0..r1 and outside it; pixels inside `skip` (a legend
// box beside the data, which shows each series' colour) are not counted.
std::pair<int, int> color_inside_outside(const std::vector<uint8_t>& px, int w, int h, ImU32 c, ImVec2 r0, ImVec2 r1,
                                         int x_from, ImVec2 skip0 = {}, ImVec2 skip1 = {}) {
  const int cr = c & 0xFF, cg = (c >> 8) & 0xFF, cb = (c >> 16) & 0xFF;
  int inside = 0, outside = 0;
  for (int y = 0; y < h; ++y)
    for (int x = x_from; x < w; ++x) {
      const uint8_t* p = px.data() + (static_cast<size_t>(y) * w + x) * 4;
      if (std::abs(p[0] - cr) > 10 || std::abs(p[1] - cg) > 10 || std::abs(p[2] - cb) > 10) continue;
      const bool in = x >= r0.x - 1 && x <= r1.x + 1 && y >= r0.y - 1 && y <= r1.y + 1;
      if (!in && x >= skip0.x - 1 && x <= skip1.x + 1 && y >= skip0.y - 1 && y <= skip1.y + 1) continue;
      (in ? inside : outside) += 1;
    }
  return {inside, outside};
}

}  // namespace

TEST_CASE("Scaling mode: sweep, timing, ceilings and memory arrive from the worker; every panel draws its points") {
  std::string error;
  auto platform = create_headless_platform(1280, 720, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);  // display_main.cpp skips the suite without EGL
  ExperimentConfig config;
  config.n = 256;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  ScalingViewState& view = app.ui().scaling;
  const bool full = std::getenv("ATTNSCOPE_TEST_DEFAULT_SWEEP") != nullptr;
  if (!full) {
    AttentionSpec small;
    small.head_dim = 32;
    view.sweep_config = initial_sweep_config(small, BackendCapabilities{}, "window:16");
    view.sparse_mask = "window:16";
    view.sweep_config.lengths = {64, 128, 256, 512};
    view.sweep_config.repetitions = 2;
    view.sweep_config.min_timed_s = 0.01;
    view.sweep_configured = true;
  }
  app.ui().requested_mode = "Scaling";
  REQUIRE(frames_until(
      app, *platform,
      [&] { return app.settled() && view.sweep && !view.live && view.ceilings && !view.history.empty() && view.memory.info; },
      full ? 600 : 120));

  // The sweep ran for real: every point measured (small N, no cap hit), slopes fitted.
  const SweepResult& sweep = *view.sweep;
  CHECK(sweep.backend == "cpu");
  REQUIRE(sweep.series.size() == 3);
  int measured = 0;
  for (const auto& s : sweep.series) {
    CHECK(s.points.size() == sweep.config.lengths.size());
    for (const auto& p : s.points) measured += p.status == PointStatus::Measured;
    CHECK(s.time_fit.ok);
  }
  if (!full) {
    CHECK(measured == 12);
    CHECK(sweep.series[0].memory_fit.slope > 1.6);  // naive's S and P: N²
    CHECK(sweep.series[1].points.back().bytes_allocated < sweep.series[0].points.back().bytes_allocated);
  }
  // Timing: every algorithm with a CPU twin ran on the experiment; the tensor-core kernel is not listed.
  const TimingRun& run = view.history.back();
  CHECK(run.spec.kv_len == 256);
  std::vector<Algorithm> timed;
  for (auto& a : run.algorithms) {
    INFO(algorithm_name(a.algorithm) << ": " << a.error);
    CHECK(a.ok);
    CHECK(a.timing.median_ms > 0);
    CHECK(a.timing.samples_ms.size() == static_cast<size_t>(view.timing_repetitions));
    timed.push_back(a.algorithm);
  }
  CHECK(timed == std::vector<Algorithm>{Algorithm::Naive, Algorithm::Flash, Algorithm::Flash1, Algorithm::BlockSparse,
                                        Algorithm::Gathered});
  REQUIRE_MESSAGE(view.ceilings->ok, view.ceilings->error);
  CHECK(view.ceilings->gemm_flops_per_s > 0);
  CHECK(view.memory.info->known);
  CHECK(view.memory.info->free_bytes > 0);

  const char* png_dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR");
  for (const char* panel : kScalingPanelNames) {
    view.requested_panel = panel;
    for (int i = 0; i < 4; ++i) app.frame(*platform);
    CHECK(std::string(kScalingPanelNames[static_cast<int>(view.panel)]) == panel);
    CHECK_FALSE(app.failed());
    std::vector<uint8_t> px;
    int w = 0, h = 0;
    REQUIRE(platform->read_pixels(px, w, h));
    if (png_dir) CHECK(write_png(std::string(png_dir) + "/scaling_" + panel + ".png", px, w, h, &error));
    const plot::PlotGeometry geo = plot::LastPlotGeometry();  // the panel's last plot
    INFO("panel " << panel);
    if (std::string(panel) == "Scaling") {
      // The memory plot: 3 series of measured points and the Q, K, V, O line (no marked points in the small sweep).
      if (!full) CHECK(geo.points_drawn == measured + static_cast<int>(sweep.config.lengths.size()));
      // Right of the time plot (which draws naive too), naive's colour lies inside the memory plot's axes.
      const auto [in, out] =
          color_inside_outside(px, w, h, algorithm_color(Algorithm::Naive), geo.min, geo.max, w / 2, geo.legend_min,
                               geo.legend_max);
      CHECK(in > 50);
      CHECK(out == 0);
    } else if (std::string(panel) == "Timing") {
      CHECK(geo.points_drawn == static_cast<int>(run.algorithms.size()));  // one run, one point each
      CHECK(geo.x_scale == plot::Scale::Linear);
    } else if (std::string(panel) == "Roofline") {
      CHECK(geo.x_scale == plot::Scale::Log10);
      CHECK(geo.y_scale == plot::Scale::Log10);
      // The roof (3 points), every measured sweep point and the run's algorithms.
      CHECK(geo.points_drawn == 3 + measured + static_cast<int>(run.algorithms.size()));
      const double ridge = view.ceilings->gemm_flops_per_s / view.ceilings->copy_bytes_per_s;
      CHECK(geo.x_min < ridge);
      CHECK(geo.x_max > ridge);
      // The legend names every colour and every marker style — the run's filled diamonds and the sweep's hollow
      // circles — and lies beside the data, not over it.
      CHECK(geo.legend_entries == static_cast<int>(run.algorithms.size()) + 1 /* roof */ + 2 /* marker keys */);
      CHECK(geo.legend_hollow_markers == 1);
      CHECK_FALSE(geo.legend_over_data());
    }
  }
}

