// test_ceilings.cpp — the CPU ceiling benchmark (its matmul against a double product, every element written; the
// measured ceilings are positive and the backend hook answers), the power-law fit on synthetic data, and the N sweep
// on a scripted backend (out of memory, limits, time cap and cancel are marked, never dropped) and on the CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/ceilings.hpp"
#include "core/cost_model.hpp"
#include "core/cpu_backend.hpp"
#include "core/rng.hpp"
#include "core/scaling.hpp"
#include "core/thread_pool.hpp"

using namespace attnscope;

TEST_CASE("ceilings: the blocked matmul matches a double product and writes every element") {
  ThreadPool pool(2);
  for (int64_t n : {1, 17, 77, 300}) {
    const size_t nn = static_cast<size_t>(n * n);
    std::vector<float> a(nn), b(nn), c(nn, std::numeric_limits<float>::quiet_NaN());
    Rng rng(static_cast<uint64_t>(n) * 31 + 5);
    for (auto& x : a) x = static_cast<float>(rng.normal());
    for (auto& x : b) x = static_cast<float>(rng.normal());
    blocked_matmul(a.data(), b.data(), c.data(), n, pool);
    double worst = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double ref = 0;
        for (int64_t k = 0; k < n; ++k) ref += static_cast<double>(a[i * n + k]) * b[k * n + j];
        const float got = c[i * n + j];
        REQUIRE(std::isfinite(got));
        worst = std::max(worst, std::fabs(got - ref));
      }
    INFO("n = " << n);
    CHECK(worst < 1e-3);
  }
}

TEST_CASE("ceilings: the CPU benchmark measures a positive copy bandwidth and matmul rate") {
  ThreadPool pool(2);
  CpuCeilingsConfig config;
  config.copy_bytes = 8u << 20;
  config.gemm_n = 200;  // not a multiple of the 64 x 256 blocks: edge blocks included
  config.repetitions = 2;
  const DeviceCeilings c = measure_cpu_ceilings(pool, config);
  REQUIRE_MESSAGE(c.ok, c.error);
  CHECK(c.copy_bytes == 8u << 20);
  CHECK(c.copy_bytes_per_s > 1e8);     // anything slower than 0.1 GB/s is a broken measurement
  CHECK(c.gemm_flops_per_s > 1e7);
  CHECK(c.gemm_n == 200);
  CHECK(c.gemm_what.find("200³") != std::string::npos);

  auto backend = make_cpu_backend(2);
  const DeviceCeilings b = backend->measure_ceilings();
  REQUIRE_MESSAGE(b.ok, b.error);
  MESSAGE("CPU ceilings: copy " << b.copy_bytes_per_s / 1e9 << " GB/s, " << b.gemm_what << " "
                                << b.gemm_flops_per_s / 1e9 << " GFLOP/s, measured in " << b.seconds << " s");
  CHECK(b.device == backend->device_name());
  CHECK(b.gemm_flops_per_s > 0);
  CHECK(b.copy_bytes_per_s > 0);
}

TEST_CASE("scaling: power-law fit on synthetic data") {
  std::vector<double> n, t;
  for (double x = 256; x <= 65536; x *= 2) {
    n.push_back(x);
    t.push_back(3e-7 * x * x);
  }
  PowerFit f = fit_power_law(n, t);
  REQUIRE(f.ok);
  CHECK(f.slope == doctest::Approx(2.0));
  CHECK(f.log10_coefficient == doctest::Approx(std::log10(3e-7)));
  CHECK(f.r2 == doctest::Approx(1.0));
  CHECK(f.points == 9);
  // Noise of ±10% leaves the slope near 2; non-positive values are ignored.
  Rng rng(3);
  for (auto& y : t) y *= 1.0 + 0.1 * (2 * rng.uniform() - 1);
  n.push_back(1e6);
  t.push_back(0.0);
  f = fit_power_law(n, t);
  CHECK(f.points == 9);
  CHECK(f.slope == doctest::Approx(2.0).epsilon(0.03));
  CHECK(f.r2 > 0.99);
  const std::vector<double> same_x = {5, 5, 5}, ys = {1, 2, 3};
  CHECK_FALSE(fit_power_law(same_x, ys).ok);
  CHECK(sweep_lengths(256, 65536) == std::vector<int64_t>{256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536});
}

namespace {
// A backend with scripted answers: time proportional to the cost model's FLOPs (so slopes are exact), naive out of
// memory above 2048, nothing beyond N = 4096 (its limit), no kernel for gathered.
class ScriptedBackend final : public Backend {
 public:
  int runs = 0;
  uint64_t free_bytes = uint64_t{1} << 50;
  std::string name() const override { return "scripted"; }
  std::string device_name() const override { return "test device"; }
  BackendCapabilities capabilities() const override { return {}; }
  bool supports(Algorithm a, const AttentionSpec&, std::string* why) const override {
    if (a == Algorithm::Gathered) {
      if (why) *why = "gathered has no kernel here";
      return false;
    }
    return true;
  }
  uint64_t score_matrix_bytes = uint64_t{4} << 30;
  int64_t max_len = 4096;
  SpecLimits limits() const override {
    SpecLimits l;
    l.max_len = max_len;
    l.score_matrix_bytes = score_matrix_bytes;
    l.backend = "scripted";
    return l;
  }
  MemoryInfo memory() const override { return {true, free_bytes, free_bytes}; }
  std::vector<int> repetitions_seen;
  RunResult run(const RunRequest& req) override {
    ++runs;
    repetitions_seen.push_back(req.repetitions);
    RunResult r;
    const AttentionSpec& s = req.inputs->spec;
    if (req.algorithm == Algorithm::Naive && s.kv_len > 2048) {
      r.out_of_memory = true;
      r.bytes_needed = 8ull * s.kv_len * s.kv_len;
      r.bytes_free = 900;
      r.error = "out of memory";
      return r;
    }
    const double flops = algorithm_cost(req.algorithm, s, req.tiles, pattern_stats(s, req.tiles, false)).flops;
    // One sample per timed run asked, median 1e-9·FLOPs ms (from 3 runs the first is 10% slower, the second 10% faster).
    std::vector<double> samples(static_cast<size_t>(std::max(1, req.repetitions)), 1e-9 * flops);
    if (samples.size() >= 3) {
      samples[0] *= 1.1;
      samples[1] *= 0.9;
    }
    r.timing = Timing::from_samples(samples);
    r.flops = flops;
    r.bytes_allocated = req.algorithm == Algorithm::Naive ? 8ull * s.kv_len * s.kv_len : 4096;
    r.ok = true;
    return r;
  }
  ScoreImage score_image(const ScoreImageRequest&) override { return {}; }
};
}  // namespace

TEST_CASE("scaling: a sweep marks out-of-memory, over-limit, capped and cancelled points instead of dropping them") {
  ScriptedBackend backend;
  SweepConfig config;
  config.lengths = sweep_lengths(256, 8192);
  config.series = {{"naive", Algorithm::Naive, "dense"},
                   {"window", Algorithm::BlockSparse, "window:64"},
                   {"gathered", Algorithm::Gathered, "dense"},
                   {"bad mask", Algorithm::Flash, "window:-3"}};
  config.repetitions = 3;
  int reported = 0;
  SweepCallbacks cb;
  double last_progress = -1;
  bool monotone = true;
  cb.on_point = [&](int, const SweepPoint&) { ++reported; };
  cb.progress = [&](double f, const std::string&) {
    monotone &= f >= last_progress - 1e-12;
    last_progress = f;
  };
  SweepResult r = run_sweep(backend, config, cb);
  REQUIRE(r.series.size() == 4);
  CHECK(reported == 4 * 6);
  CHECK(monotone);
  CHECK(last_progress == doctest::Approx(1.0));
  for (auto& s : r.series) CHECK(s.points.size() == 6);  // 256 … 8192: every point kept
  const auto& naive = r.series[0].points;
  CHECK(naive[3].status == PointStatus::Measured);     // 2048
  CHECK(naive[4].status == PointStatus::OutOfMemory);  // 4096
  CHECK(naive[4].bytes_needed == 8ull * 4096 * 4096);
  CHECK(naive[5].status == PointStatus::OverLimits);   // 8192 > max_len
  CHECK(naive[5].note.find("8192") != std::string::npos);
  CHECK(r.series[2].points[0].status == PointStatus::OverLimits);
  CHECK(r.series[2].points[0].note == "gathered has no kernel here");
  CHECK(r.series[3].points[0].status == PointStatus::OverLimits);
  CHECK(r.series[3].points[0].note.find("window:-3") != std::string::npos);
  // Slopes: dense time ∝ N², a fixed window ∝ N (the scripted time is the cost model's FLOPs).
  REQUIRE(r.series[0].time_fit.ok);
  CHECK(r.series[0].time_fit.slope == doctest::Approx(2.0).epsilon(0.001));
  CHECK(r.series[0].memory_fit.slope == doctest::Approx(2.0).epsilon(0.001));
  REQUIRE(r.series[1].time_fit.ok);
  CHECK(r.series[1].time_fit.slope == doctest::Approx(1.0).epsilon(0.05));
  CHECK(r.series[1].time_fit.points == 4);  // the 4 largest measured N

  // A time cap: the first point runs, the next are predicted by FLOPs and not run (but kept, with the prediction).
  config.series = {{"naive", Algorithm::Naive, "dense"}};
  config.lengths = sweep_lengths(256, 2048);
  const double first_ms = 1e-9 * algorithm_cost(Algorithm::Naive, [] {
    AttentionSpec s;
    s.q_len = s.kv_len = 256;
    return s;
  }(), TileConfig{}, PatternStats{}).flops;
  config.time_cap_s = 2.5 * first_ms * 1e-3;  // 512 would take 4× the first point
  backend.runs = 0;
  r = run_sweep(backend, config);
  CHECK(backend.runs == 1);
  REQUIRE(r.series[0].points.size() == 4);
  CHECK(r.series[0].points[0].status == PointStatus::Measured);
  for (size_t i = 1; i < 4; ++i) {
    CHECK(r.series[0].points[i].status == PointStatus::Capped);
    CHECK(r.series[0].points[i].predicted_ms == doctest::Approx(first_ms * std::pow(4.0, double(i))));
  }
  CHECK(r.series[0].points[1].note.find("cap") != std::string::npos);

  // A capped point predicted to need far more than is free is tried once: the backend's answer is shown.
  backend.free_bytes = 1000;
  config.lengths = {1024, 2048, 4096};
  config.time_cap_s = 1e-9;
  backend.repetitions_seen.clear();
  r = run_sweep(backend, config);
  CHECK(r.series[0].points[1].status == PointStatus::Measured);  // it fitted after all
  CHECK(backend.repetitions_seen == std::vector<int>{3, 1, 1});   // tried once, not timed repeatedly
  CHECK(r.series[0].points[2].status == PointStatus::OutOfMemory);
  backend.free_bytes = uint64_t{1} << 50;
  config.lengths = sweep_lengths(256, 2048);

  // Cancel after two points: the rest stay, marked cancelled.
  config.time_cap_s = 0;
  int decided = 0;
  SweepCallbacks stop;
  stop.on_point = [&](int, const SweepPoint&) { ++decided; };
  stop.should_stop = [&] { return decided >= 2; };
  r = run_sweep(backend, config, stop);
  CHECK(r.cancelled);
  CHECK(r.series[0].points[1].status == PointStatus::Measured);
  CHECK(r.series[0].points[2].status == PointStatus::Cancelled);
  CHECK(r.series[0].points[3].status == PointStatus::Cancelled);
}

TEST_CASE("scaling: the score-matrix limit refuses only algorithms that store the matrix (issue 15)") {
  ScriptedBackend backend;
  backend.score_matrix_bytes = 4ull * 1024 * 1024;  // 1024² fp32 fits, 2048² does not
  SweepConfig config;
  config.lengths = {1024, 2048, 4096};
  config.series = {{"naive", Algorithm::Naive, "dense"},
                   {"flash", Algorithm::Flash, "dense"},
                   {"window", Algorithm::BlockSparse, "window:64"}};
  config.repetitions = 1;
  SweepResult r = run_sweep(backend, config);
  CHECK(r.series[0].points[0].status == PointStatus::Measured);
  CHECK(r.series[0].points[1].status == PointStatus::OverLimits);
  CHECK(r.series[0].points[1].note.find("score matrix") != std::string::npos);
  for (int s = 1; s < 3; ++s)
    for (const auto& p : r.series[s].points) {
      INFO("series ", s, " N = ", p.n, ": ", p.note);
      CHECK(p.status == PointStatus::Measured);
    }
}

TEST_CASE("scaling: a small real sweep on the CPU backend") {
  auto backend = make_cpu_backend(2);
  SweepConfig config = default_sweep_config("window:16");
  config.lengths = {64, 128, 256, 512};
  config.head_dim = 16;
  config.repetitions = 1;
  config.warmup = 0;
  const SweepResult r = run_sweep(*backend, config);
  REQUIRE(r.series.size() == 3);
  CHECK(r.backend == "cpu");
  for (auto& s : r.series)
    for (auto& p : s.points) {
      INFO(s.series.label << " N=" << p.n << ": " << p.note);
      CHECK(p.status == PointStatus::Measured);
      CHECK(p.timing.median_ms > 0);
      CHECK(p.flops > 0);
    }
  // Naive materialises S and P: 2·N²·4 bytes for one head.
  CHECK(r.series[0].points[3].bytes_allocated >= 2ull * 512 * 512 * 4);
  CHECK(r.series[1].points[3].bytes_allocated < r.series[0].points[3].bytes_allocated);
  CHECK(r.series[0].memory_fit.slope > 1.6);  // S and P grow as N², the per-worker tiles stay fixed
}

TEST_CASE("scaling: sweep progress follows the expected time (capped points cost nothing) and names the point") {
  // The default sweep: naive, flash, block-sparse on N = 256 … 65536 (27 points). The scripted run takes
  // 1e-9·FLOPs ms, so with a 50 ms cap dense N ≥ 16384 is capped: the time is spent on the points up to 8192.
  ScriptedBackend backend;
  backend.max_len = int64_t{1} << 20;
  backend.score_matrix_bytes = uint64_t{1} << 50;
  SweepConfig config = default_sweep_config();
  config.time_cap_s = 0.05;
  REQUIRE(config.lengths.size() * config.series.size() == 27);
  std::vector<double> after_point;  // the fraction reported after each point
  std::vector<std::string> statuses;
  double last = -1;
  bool monotone = true;
  SweepCallbacks cb;
  cb.progress = [&](double f, const std::string& status) {
    monotone &= f >= last - 1e-12;
    last = f;
    statuses.push_back(status);
  };
  cb.on_point = [&](int, const SweepPoint&) { after_point.push_back(last); };
  const SweepResult r = run_sweep(backend, config, cb);
  REQUIRE(after_point.size() == 27);
  CHECK(monotone);
  CHECK(last == doctest::Approx(1.0));
  // on_point runs before the point's own progress call: after_point[k] is the fraction after k points.
  // 16 of 27 points done (through N = 4096 for every series and 8192 for naive): the big points that remain are
  // capped, so much of the time is spent. Weighting by FLOPs (the old rule) read about 1% here: 65536's FLOPs
  // dwarf the rest. (The scripted runs take no wall time: the time spent is their timed runs, warm-up included.)
  double flops_done = 0, flops_all = 0;
  for (size_t li = 0; li < config.lengths.size(); ++li)
    for (size_t s = 0; s < config.series.size(); ++s) {
      const double f = std::max(1.0, r.series[s].points[li].flops);
      flops_all += f;
      if (li * config.series.size() + s < 16) flops_done += f;
    }
  CHECK(flops_done / flops_all < 0.02);
  CHECK(after_point[16] > 0.25);
  // Which point runs, in words.
  bool named = false;
  for (const std::string& s : statuses) named |= s == "flash, N = 8192 — point 17 of 27";
  CHECK(named);
}

TEST_CASE("scaling: as a measured point starts, the sweep announces the fraction it will reach and its expected time") {
  ScriptedBackend backend;
  backend.max_len = int64_t{1} << 20;
  backend.score_matrix_bytes = uint64_t{1} << 50;
  SweepConfig config = default_sweep_config();
  config.time_cap_s = 0.05;
  double last = 0;
  struct Goal { double from, goal, expected_s; };
  std::vector<Goal> goals;
  std::vector<double> after_point;
  SweepCallbacks cb;
  cb.progress = [&](double f, const std::string&) { last = f; };
  cb.point_started = [&](double goal, double expected_s) { goals.push_back({last, goal, expected_s}); };
  cb.on_point = [&](int, const SweepPoint&) { after_point.push_back(last); };
  run_sweep(backend, config, cb);
  // The first point of each series has no rate to predict from; after that every run point is announced.
  REQUIRE(goals.size() >= 10);
  for (const Goal& g : goals) {
    CHECK(g.expected_s > 0);
    CHECK(g.goal > g.from);  // ahead of the bar as the point starts
    CHECK(g.goal <= 1.0);
  }
}

TEST_CASE("scaling: expected_point_s counts the warm-up and the repetitions, and nothing for a capped point") {
  SweepConfig config;
  config.warmup = 1;
  config.repetitions = 3;
  config.min_timed_s = 0.25;
  config.time_cap_s = 2.0;
  CHECK(expected_point_s(config, 100) == doctest::Approx(0.1 * (1 + 3)));  // 250 ms needs 3 runs: the minimum
  CHECK(expected_point_s(config, 10) == doctest::Approx(0.01 * (1 + 25)));  // 25 runs make 250 ms
  CHECK(expected_point_s(config, 1) == doctest::Approx(0.001 * (1 + 50)));  // at most 50 runs
  CHECK(expected_point_s(config, 3000) == 0);                               // over the 2 s cap: skipped
}
