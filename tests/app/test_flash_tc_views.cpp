// test_flash_tc_views.cpp — the views with the tensor-core kernel (flash-tc), which only the CUDA backend runs. A
// stand-in backend answers like the CUDA one (flash, block-sparse: fp32 only; flash-tc: fp16/bf16, head_dim 64/128;
// gathered: no kernel) and runs the CPU twins underneath; its flash-tc traces are built from core's visit
// schedule (Br 128 × Bc 64, gathered visits numbered by ordinal) with probe steps computed from the reference scores.
// Checked: the Timing run substitutes only the dtype (and the backend really ran that dtype), labels and kernels;
// the FlashAttention view runs flash-tc at the closest dtype and maps gathered ordinals to their keys; the Timing
// panel and the FlashAttention mode draw a flash-tc run in-process (ATTNSCOPE_TEST_PNG_DIR: PNGs to look at).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/views/flash/model.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/platform/png_write.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "core/cpu_backend.hpp"
#include "tests/app/models/cuda_like_backend.hpp"
#include "core/reference.hpp"
#include "core/visit_schedule.hpp"

using namespace attnscope;
using namespace attnscope::gui;
using attnscope::test::CudaLikeBackend;


namespace {

bool frames_until(App& app, Platform& platform, const std::function<bool()>& done, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (!done() || app.frames_drawn() < 4) {
    app.frame(platform);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void save_png(Platform& platform, const char* name) {
  const char* dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR");
  if (!dir) return;
  std::vector<uint8_t> px;
  int w = 0, h = 0;
  REQUIRE(platform.read_pixels(px, w, h));
  std::string error;
  CHECK_MESSAGE(write_png(std::string(dir) + "/" + name, px, w, h, &error), error);
}

}  // namespace

TEST_CASE("in the app: the Timing panel plots naive fp16, flash fp32, flash-tc fp16; the FlashAttention mode replays flash-tc") {
  std::string error;
  auto platform = create_headless_platform(1280, 720, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);  // display_main.cpp skips the suite without EGL
  ExperimentConfig config;
  config.n = 1000;
  config.head_dim = 64;
  config.heads = 2;
  config.kv_heads = 2;
  config.mask = "strided:32";
  config.causal = true;
  config.dtype = DType::F16;
  auto owned = std::make_unique<CudaLikeBackend>();
  App app(config, std::move(owned));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);

  // Scaling → Timing: the timing run arrives; the sweep is not started, as its panel (Scaling) is not shown.
  ScalingViewState& scaling = app.ui().scaling;
  scaling.requested_panel = "Timing";
  app.ui().requested_mode = "Scaling";
  REQUIRE(frames_until(app, *platform, [&] { return app.settled() && !scaling.history.empty(); }, 120));
  CHECK_FALSE(scaling.sweep_started);
  CHECK_FALSE(scaling.live);
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  CHECK_FALSE(app.failed());
  const TimingRun& run = scaling.history.back();
  std::vector<std::string> labels;
  for (auto& a : run.algorithms) labels.push_back(timing_label(a));
  CHECK(labels ==
        std::vector<std::string>{"naive fp16", "flash fp32", "flash-tc fp16", "flash1 fp16", "block-sparse fp32"});
  const plot::PlotGeometry geo = plot::LastPlotGeometry();
  CHECK(geo.points_drawn == 5);  // one run: one point per algorithm that ran
  save_png(*platform, "flash_tc_timing.png");
  scaling.requested_panel = "Memory";
  for (int i = 0; i < 4; ++i) app.frame(*platform);
  CHECK_FALSE(app.failed());
  save_png(*platform, "flash_tc_memory.png");

  // FlashAttention with flash-tc on a gathered (strided) schedule, paused half-way.
  REQUIRE(app.ui().flash.apply_options("order=flash-tc,at=0.5").empty());
  app.ui().requested_mode = "FlashAttention";
  FlashViewState& flash = app.ui().flash;
  REQUIRE(frames_until(app, *platform, [&] { return app.settled() && flash.result != nullptr; }, 60));
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  CHECK_FALSE(app.failed());
  REQUIRE_MESSAGE(flash.result->error.empty(), flash.result->error);
  const FlashViewResult& r = *flash.result;
  CHECK(r.gathered);
  CHECK(r.trace.br == 128);
  CHECK(r.trace.bc == 64);
  CHECK(flash.readout.gantt_bars == static_cast<int32_t>(r.trace.ctas.size()));
  // The shown step is the trace's, and its keys were drawn inside the K strip.
  const int64_t t = static_cast<int64_t>(flash.time_ns);
  const TraceReplay::Activity a = r.replay.at(r.trace, flash.readout.shown_unit, t);
  if (a.cta >= 0 && a.visit >= 0) {
    CHECK(flash.readout.shown_k_tile == r.trace.ctas[static_cast<size_t>(a.cta)].visits[static_cast<size_t>(a.visit)].k_tile);
    CHECK(flash.readout.k_tile_x >= flash.readout.k_strip_x - 1);
    CHECK(flash.readout.k_tile_x + flash.readout.k_tile_w <= flash.readout.k_strip_x + flash.readout.k_strip_w + 2);
  }
  save_png(*platform, "flash_tc_gathered.png");
  // The replay to the end: every probe step shown.
  flash.time_ns = static_cast<double>(r.replay.end_ns);
  app.frame(*platform);
  CHECK(flash.readout.probe_steps_shown == static_cast<int32_t>(r.replay.probe_visits.size()));
  save_png(*platform, "flash_tc_gathered_end.png");
}
