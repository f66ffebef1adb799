// test_flash_tc_views.cpp — the views with the tensor-core kernel (flash-tc), which only the CUDA backend runs. A
// stand-in backend answers like the CUDA one (flash, block-sparse: fp32 only; flash-tc: fp16/bf16, head_dim 64/128;
// flash1, gathered: no kernel) and runs the CPU twins underneath; its flash-tc traces are built from core's visit
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
#include "core/reference.hpp"
#include "core/visit_schedule.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

// Answers supports() as kernels/cuda_backend.cu does; runs the CPU twins (flash-tc: the CPU flash twin, timed).
class CudaLikeBackend : public Backend {
 public:
  CudaLikeBackend() : cpu_(make_cpu_backend(2)) {}
  std::string name() const override { return "cuda-like"; }
  std::string device_name() const override { return "CPU twins answering as CUDA"; }
  bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const override {
    auto no = [&](std::string why) {
      if (why_not) *why_not = std::move(why);
      return false;
    };
    switch (algorithm) {
      case Algorithm::Naive: return true;
      case Algorithm::Flash:
      case Algorithm::BlockSparse:
        if (spec.dtype != DType::F32) return no(std::string(algorithm_name(algorithm)) + " is the fp32 teaching kernel");
        return true;
      case Algorithm::FlashTensorCore:
        if (spec.dtype == DType::F32) return no("flash-tc runs fp16 or bf16");
        if (spec.head_dim != 64 && spec.head_dim != 128) return no("flash-tc is built for head_dim 64 and 128");
        return true;
      default: return no(std::string(algorithm_name(algorithm)) + " has no CUDA kernel yet");
    }
  }
  RunResult run(const RunRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      ran_at[request.algorithm] = request.inputs->spec.dtype;
    }
    std::string why;
    if (!supports(request.algorithm, request.inputs->spec, &why)) {
      RunResult r;
      r.error = why;
      return r;
    }
    if (request.algorithm != Algorithm::FlashTensorCore) return cpu_->run(request);
    RunRequest twin = request;
    twin.algorithm = Algorithm::Flash;
    twin.record_trace = false;
    RunResult r = cpu_->run(twin);
    r.algorithm = Algorithm::FlashTensorCore;
    const AttentionSpec& spec = request.inputs->spec;
    const VisitSchedule schedule = build_visit_schedule(spec, 128, 64);
    r.kernel = std::string("flash-tc ") + dtype_name(spec.dtype) + (schedule.gathered ? ", gathered keys: " : ", block-sparse: ") +
               std::to_string(schedule.visits.size()) + " visits of 128x64";
    if (request.record_trace) r.trace = synthetic_trace(*request.inputs, schedule, request.probe_rows);
    return r;
  }
  ScoreImage score_image(const ScoreImageRequest& request) override { return cpu_->score_image(request); }
  MemoryInfo memory() const override { return cpu_->memory(); }
  DeviceCeilings measure_ceilings() override { return cpu_->measure_ceilings(); }

  std::mutex mutex_;
  std::map<Algorithm, DType> ran_at;  // the dtype each algorithm's last run was given

 private:
  // One CTA per (batch, head, Q tile), visits in schedule order (k_tile = the visit's tile: K/V tile or gathered
  // ordinal), CTAs dealt round-robin to 6 "SMs", 100 ns per visit. Probe steps: the online softmax over each visit's
  // keys, from the reference's double scores.
  static Trace synthetic_trace(const AttentionInputs& in, const VisitSchedule& s, const std::vector<int32_t>& rows) {
    const AttentionSpec& spec = in.spec;
    Trace t;
    t.source = "cuda";
    t.algorithm = "flash-tc";
    t.device = "synthetic";
    t.clock = "globaltimer";
    t.spec = spec.summary();
    t.br = s.br;
    t.bc = s.bc;
    t.tr = static_cast<int32_t>(s.tr);
    t.tc = static_cast<int32_t>((spec.kv_len + s.bc - 1) / s.bc);
    t.units = 6;
    std::vector<int64_t> unit_time(6, 0);
    int32_t cta = 0;
    for (int32_t b = 0; b < spec.batch; ++b)
      for (int32_t h = 0; h < spec.q_heads; ++h)
        for (int32_t q = 0; q < s.tr; ++q, ++cta) {
          CtaRecord c;
          c.cta = cta;
          c.batch = b, c.head = h, c.q_tile = q;
          c.unit = cta % 6;
          int64_t& now = unit_time[static_cast<size_t>(c.unit)];
          for (int32_t v = s.offsets[static_cast<size_t>(q)]; v < s.offsets[static_cast<size_t>(q) + 1]; ++v) {
            c.visits.push_back({s.visits[static_cast<size_t>(v)].tile, now, now + 100});
            now += 110;
          }
          t.ctas.push_back(std::move(c));
        }
    const ReferenceHead ref = reference_head(in, 0, 0);
    for (int32_t row : rows) {
      RowProbe p;
      p.row = row;
      const int32_t q = row / s.br;
      double m = -std::numeric_limits<double>::infinity(), l = 0;
      for (int32_t v = s.offsets[static_cast<size_t>(q)]; v < s.offsets[static_cast<size_t>(q) + 1]; ++v) {
        const KernelVisit& visit = s.visits[static_cast<size_t>(v)];
        std::vector<int64_t> keys;
        if (s.gathered) {
          for (int c = 0; c < s.bc; ++c)
            if (const int32_t k = s.keys[static_cast<size_t>(visit.key_begin + c)]; k >= 0) keys.push_back(k);
        } else {
          for (int64_t k = visit.key_begin; k < std::min<int64_t>(spec.kv_len, visit.key_begin + s.bc); ++k) keys.push_back(k);
        }
        double m_new = m;
        for (int64_t k : keys) m_new = std::max(m_new, ref.scores[static_cast<size_t>(row * ref.cols + k)]);
        const double rescale = std::isfinite(m_new) && std::isfinite(m) ? std::exp(m - m_new) : 0.0;
        l *= rescale;
        for (int64_t k : keys)
          if (const double sc = ref.scores[static_cast<size_t>(row * ref.cols + k)]; std::isfinite(sc)) l += std::exp(sc - m_new);
        m = m_new;
        p.steps.push_back({visit.tile, m, l, rescale, 0.0});
      }
      t.probes.push_back(std::move(p));
    }
    return t;
  }
  std::unique_ptr<Backend> cpu_;
};

TimingRun time_experiment(Backend& backend, DType dtype, int64_t head_dim, const std::string& mask = "causal") {
  ExperimentConfig config;
  config.n = 200;
  config.head_dim = head_dim;
  config.heads = 2;
  config.kv_heads = 2;
  config.mask = mask;
  const SpecResult spec = to_spec(config, backend.limits());
  REQUIRE(spec.ok);
  AttentionSpec s = spec.spec;
  s.dtype = dtype;
  TaskControl control;
  std::any out = make_timing_task(config, s, 2, 1)(backend, control);
  return std::any_cast<TimingRun>(out);
}

const AlgorithmTiming* find(const TimingRun& run, Algorithm a) {
  for (auto& t : run.algorithms)
    if (t.algorithm == a) return &t;
  return nullptr;
}

}  // namespace

TEST_CASE("closest dtype: the experiment's own first, then fp32 for 16-bit types, fp16 before bf16 from fp32") {
  CHECK(dtype_candidates(DType::F16) == std::vector<DType>{DType::F16, DType::F32, DType::BF16});
  CHECK(dtype_candidates(DType::BF16) == std::vector<DType>{DType::BF16, DType::F32, DType::F16});
  CHECK(dtype_candidates(DType::F32) == std::vector<DType>{DType::F32, DType::F16, DType::BF16});
  CudaLikeBackend backend;
  AttentionSpec spec;
  spec.head_dim = 96;
  spec.dtype = DType::F32;
  // flash-tc at head_dim 96: refused at every dtype; the reason names the dtype and the head_dim.
  const RunDtype tc = choose_run_dtype(backend, Algorithm::FlashTensorCore, spec);
  CHECK_FALSE(tc.ok);
  CHECK(tc.refused.find("fp16 or bf16") != std::string::npos);
  CHECK(tc.refused.find("head_dim 64 and 128") != std::string::npos);
  spec.head_dim = 64;
  const RunDtype tc64 = choose_run_dtype(backend, Algorithm::FlashTensorCore, spec);
  CHECK(tc64.ok);
  CHECK(tc64.dtype == DType::F16);
  CHECK(tc64.substituted);
  CHECK(tc64.refused == "flash-tc runs fp16 or bf16");
  const RunDtype flash = choose_run_dtype(backend, Algorithm::Flash, spec);
  CHECK(flash.ok);
  CHECK_FALSE(flash.substituted);
  CHECK(flash.refused.empty());
}

TEST_CASE("Timing run: naive at the experiment's dtype, flash fp32 and flash-tc fp16/bf16 substituted, the rest refused") {
  CudaLikeBackend backend;
  SUBCASE("fp16 experiment") {
    const TimingRun run = time_experiment(backend, DType::F16, 64);
    std::vector<std::string> labels;
    for (auto& a : run.algorithms) {
      INFO(timing_label(a) << ": " << a.error);
      CHECK(a.ok);
      CHECK(a.timing.median_ms > 0);
      labels.push_back(timing_label(a));
      CHECK(backend.ran_at.at(a.algorithm) == a.dtype);  // the backend was given that dtype
    }
    CHECK(labels == std::vector<std::string>{"naive fp16", "flash fp32", "flash-tc fp16", "block-sparse fp32"});
    CHECK_FALSE(find(run, Algorithm::Naive)->dtype_substituted);
    CHECK(find(run, Algorithm::Flash)->dtype_substituted);
    CHECK(find(run, Algorithm::Flash)->dtype_refused == "flash is the fp32 teaching kernel");
    CHECK_FALSE(find(run, Algorithm::FlashTensorCore)->dtype_substituted);
    CHECK(find(run, Algorithm::FlashTensorCore)->kernel.find("flash-tc fp16") == 0);
    CHECK(run.spec.dtype == DType::F16);  // the run is still the fp16 experiment
    REQUIRE(run.not_run.size() == 2);
    CHECK(run.not_run[0] == "flash1: flash1 has no CUDA kernel yet");
    CHECK(run.not_run[1] == "gathered: gathered has no CUDA kernel yet");
  }
  SUBCASE("fp32 experiment: flash-tc at fp16") {
    const TimingRun run = time_experiment(backend, DType::F32, 64);
    REQUIRE(find(run, Algorithm::FlashTensorCore));
    CHECK(timing_label(*find(run, Algorithm::FlashTensorCore)) == "flash-tc fp16");
    CHECK(find(run, Algorithm::FlashTensorCore)->dtype_substituted);
    CHECK(timing_label(*find(run, Algorithm::Naive)) == "naive fp32");
    CHECK_FALSE(find(run, Algorithm::Flash)->dtype_substituted);
  }
  SUBCASE("bf16 experiment: flash-tc bf16, flash fp32") {
    const TimingRun run = time_experiment(backend, DType::BF16, 64);
    CHECK(timing_label(*find(run, Algorithm::FlashTensorCore)) == "flash-tc bf16");
    CHECK(timing_label(*find(run, Algorithm::Flash)) == "flash fp32");
    CHECK(backend.ran_at.at(Algorithm::FlashTensorCore) == DType::BF16);
  }
  SUBCASE("head_dim 32: flash-tc is refused at every dtype, with the head_dim reason") {
    const TimingRun run = time_experiment(backend, DType::F16, 32);
    CHECK(find(run, Algorithm::FlashTensorCore) == nullptr);
    bool listed = false;
    for (auto& line : run.not_run)
      if (line.rfind("flash-tc: ", 0) == 0) listed = line.find("head_dim 64 and 128") != std::string::npos;
    CHECK(listed);
  }
}

TEST_CASE("Timing run on the CPU backend: flash-tc not run (no CPU twin), the twins at the experiment's dtype") {
  auto backend = make_cpu_backend(2);
  const TimingRun run = time_experiment(*backend, DType::F16, 64);
  for (auto& a : run.algorithms) {
    CHECK(a.ok);
    CHECK_FALSE(a.dtype_substituted);
    CHECK(a.dtype == DType::F16);
  }
  CHECK(run.algorithms.size() == 5);
  REQUIRE(run.not_run.size() == 1);
  CHECK(run.not_run[0].find("flash-tc: flash-tc has no CPU twin") == 0);
}

TEST_CASE("FlashAttention view with flash-tc: closest dtype, 128 × 64 tiles, gathered ordinals mapped to their keys") {
  CudaLikeBackend backend;
  FlashViewKey key;
  key.config.n = 600;
  key.config.head_dim = 64;
  key.config.heads = 2;
  key.config.kv_heads = 2;
  key.config.generator = Generator::Gaussian;
  key.config.seed = 11;
  key.order = FlashOrder::TensorCore;
  key.row = 457;
  TaskControl control;
  SUBCASE("causal, fp32 experiment: runs fp16 (naive too), block-sparse schedule") {
    key.config.mask = "causal";
    const auto r = compute_flash_view(backend, control, key, std::nullopt);
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    CHECK(r->spec.dtype == DType::F16);
    CHECK(r->dtype_note.find("flash-tc runs fp16 here") == 0);
    CHECK(r->flash.dtype == DType::F16);
    CHECK(r->naive.dtype == DType::F16);
    CHECK(r->tiles.br == 128);
    CHECK(r->tiles.bc == 64);
    CHECK(r->trace.tr == 5);
    CHECK(r->trace.tc == 10);
    CHECK_FALSE(r->gathered);
    CHECK(r->tile_kinds.size() == 50u);
    CHECK(r->probe_ok);
    CHECK(r->max_abs_diff < 1e-9);
    // The probed row's CTA visits K/V tiles 0..7 (causal: keys ≤ 457 of Q tile 3, rows 384…511).
    REQUIRE(r->replay.probe_visits.size() == 8);
    CHECK(r->visit_keys(3, 7) == std::vector<int64_t>{448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459, 460,
                                                      461, 462, 463, 464, 465, 466, 467, 468, 469, 470, 471, 472, 473,
                                                      474, 475, 476, 477, 478, 479, 480, 481, 482, 483, 484, 485, 486,
                                                      487, 488, 489, 490, 491, 492, 493, 494, 495, 496, 497, 498, 499,
                                                      500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511});
    // What the menu offers on this backend: FA-1 refused at every dtype, flash-tc offered.
    REQUIRE(r->order_refusals.size() == 4);
    CHECK(r->order_refusals[0].empty());
    CHECK(r->order_refusals[1] == "flash1 has no CUDA kernel yet");
    CHECK(r->order_refusals[3].empty());
  }
  SUBCASE("strided: a gathered schedule; the visits' keys are the row's allowed keys, not tiles 0…n") {
    key.config.mask = "strided:16";
    key.config.causal = true;
    const auto r = compute_flash_view(backend, control, key, std::nullopt);
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    REQUIRE(r->gathered);
    const int32_t q_tile = r->row / r->trace.br;
    std::set<int64_t> covered;
    for (const TileVisit& v : r->replay.probe_visits) {
      const std::vector<int64_t> keys = r->visit_keys(q_tile, v.k_tile);
      CHECK_FALSE(keys.empty());
      CHECK(std::is_sorted(keys.begin(), keys.end()));
      covered.insert(keys.begin(), keys.end());
    }
    // Every key the probed row may use was gathered into one of its Q tile's blocks.
    int allowed = 0;
    for (size_t k = 0; k < r->row_scores.size(); ++k)
      if (std::isfinite(r->row_scores[k])) {
        ++allowed;
        CHECK(covered.count(static_cast<int64_t>(k)) == 1);
      }
    CHECK(allowed > 20);
    // Fewer blocks than the row's K/V tiles, and their keys are not the tiles [j·64, (j+1)·64) of the ordinals.
    CHECK(r->replay.probe_visits.size() < static_cast<size_t>((r->row + 64) / 64));
    CHECK(covered.count(457) == 1);  // the diagonal key (strided keeps the own position in its local part)
    CHECK(r->probe_ok);
    CHECK(r->max_abs_diff < 1e-9);
  }
}

TEST_CASE("FlashAttention view on the CPU backend: flash-tc refused with the reason; the menu knows") {
  auto backend = make_cpu_backend(2);
  FlashViewKey key;
  key.config.n = 128;
  key.config.head_dim = 64;
  key.order = FlashOrder::TensorCore;
  TaskControl control;
  const auto r = compute_flash_view(*backend, control, key, std::nullopt);
  CHECK(r->error == "flash-tc has no CPU twin (it is a CUDA kernel)");
  REQUIRE(r->order_refusals.size() == 4);
  CHECK(r->order_refusals[3] == r->error);
  CHECK(r->order_refusals[0].empty());
  FlashViewState view;
  CHECK(view.apply_options("order=flash-tc").empty());
  CHECK(view.order == FlashOrder::TensorCore);
  CHECK(std::string(flash_order_label(FlashOrder::TensorCore)) == "flash (tensor cores)");
}

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
  if (!platform) {
    MESSAGE("skipped: " << error);
    return;
  }
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

  // Scaling → Timing, with a tiny sweep (the mode starts one).
  ScalingViewState& scaling = app.ui().scaling;
  AttentionSpec small;
  small.head_dim = 32;
  scaling.sweep_config = initial_sweep_config(small, "cpu", "window:16");
  scaling.sweep_config.lengths = {64, 128};
  scaling.sweep_config.repetitions = 1;
  scaling.sweep_config.min_timed_s = 0.0;
  scaling.sweep_configured = true;
  scaling.requested_panel = "Timing";
  app.ui().requested_mode = "Scaling";
  REQUIRE(frames_until(app, *platform, [&] { return app.settled() && !scaling.history.empty() && scaling.sweep && !scaling.live; },
                       120));
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  CHECK_FALSE(app.failed());
  const TimingRun& run = scaling.history.back();
  std::vector<std::string> labels;
  for (auto& a : run.algorithms) labels.push_back(timing_label(a));
  CHECK(labels == std::vector<std::string>{"naive fp16", "flash fp32", "flash-tc fp16", "block-sparse fp32"});
  const plot::PlotGeometry geo = plot::LastPlotGeometry();
  CHECK(geo.points_drawn == 4);  // one run: one point per algorithm that ran
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
