// scaling.cpp — the N sweep and its power-law fits (see scaling.hpp).
#include "core/scaling.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/cost_model.hpp"
#include "core/reference.hpp"

namespace attnscope {

PowerFit fit_power_law(std::span<const double> xs, std::span<const double> ys) {
  PowerFit fit;
  std::vector<double> lx, ly;
  for (size_t i = 0; i < std::min(xs.size(), ys.size()); ++i)
    if (std::isfinite(xs[i]) && std::isfinite(ys[i]) && xs[i] > 0 && ys[i] > 0) {
      lx.push_back(std::log10(xs[i]));
      ly.push_back(std::log10(ys[i]));
    }
  const double n = static_cast<double>(lx.size());
  if (lx.size() < 2) return fit;
  double mx = 0, my = 0;
  for (size_t i = 0; i < lx.size(); ++i) mx += lx[i] / n, my += ly[i] / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < lx.size(); ++i) {
    sxx += (lx[i] - mx) * (lx[i] - mx);
    sxy += (lx[i] - mx) * (ly[i] - my);
    syy += (ly[i] - my) * (ly[i] - my);
  }
  if (sxx <= 1e-24) return fit;  // all x equal: no slope
  fit.ok = true;
  fit.points = static_cast<int>(lx.size());
  fit.slope = sxy / sxx;
  fit.log10_coefficient = my - fit.slope * mx;
  fit.r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
  return fit;
}

std::vector<int64_t> sweep_lengths(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t n = std::max<int64_t>(1, first); n <= last; n *= 2) out.push_back(n);
  return out;
}

SweepConfig default_sweep_config(const std::string& sparse_mask) {
  SweepConfig c;
  c.lengths = sweep_lengths(256, 65536);
  c.series = {{"naive", Algorithm::Naive, "dense"},
              {"flash", Algorithm::Flash, "dense"},
              {"block-sparse " + sparse_mask, Algorithm::BlockSparse, sparse_mask}};
  return c;
}

const char* point_status_name(PointStatus status) {
  switch (status) {
    case PointStatus::Measured: return "measured";
    case PointStatus::OutOfMemory: return "out of memory";
    case PointStatus::OverLimits: return "over the backend's limits";
    case PointStatus::Capped: return "not run (time cap)";
    case PointStatus::Failed: return "failed";
    case PointStatus::Cancelled: return "cancelled";
  }
  return "?";
}

void fit_series(SweepSeriesResult& s, int fit_points) {
  std::vector<double> n, t, mem;
  for (const SweepPoint& p : s.points)
    if (p.status == PointStatus::Measured) {
      n.push_back(static_cast<double>(p.n));
      t.push_back(p.timing.min_ms > 0 ? p.timing.min_ms : p.timing.median_ms);
      mem.push_back(static_cast<double>(p.bytes_allocated));
    }
  const size_t keep = std::min(n.size(), static_cast<size_t>(std::max(2, fit_points)));
  const size_t from = n.size() - keep;
  auto tail = [&](const std::vector<double>& v) { return std::span<const double>(v.data() + from, keep); };
  s.time_fit = fit_power_law(tail(n), tail(t));
  s.memory_fit = fit_power_law(tail(n), tail(mem));
}

namespace {

AttentionSpec spec_at(const SweepConfig& c, int64_t n, const MaskSpec& mask) {
  AttentionSpec s;
  s.batch = c.batch;
  s.q_heads = c.heads;
  s.kv_heads = c.heads;
  s.q_len = s.kv_len = n;
  s.head_dim = c.head_dim;
  s.dtype = c.dtype;
  s.mask = mask;
  return s;
}

}  // namespace

double expected_point_s(const SweepConfig& config, double run_ms) {
  if (!(run_ms > 0)) return 0;
  if (config.time_cap_s > 0 && run_ms > config.time_cap_s * 1e3) return 0;  // capped: not run
  int repetitions = std::max(1, config.repetitions);
  if (config.min_timed_s > 0)
    repetitions = std::clamp(static_cast<int>(std::ceil(config.min_timed_s * 1e3 / run_ms)), repetitions,
                             std::max(repetitions, 50));
  return run_ms * 1e-3 * static_cast<double>(config.warmup + repetitions);
}

SweepResult run_sweep(Backend& backend, const SweepConfig& config, const SweepCallbacks& cb) {
  const auto start = std::chrono::steady_clock::now();
  SweepResult result;
  result.backend = backend.name();
  result.device = backend.device_name();
  result.config = config;
  const SpecLimits limits = backend.limits();
  const size_t n_series = config.series.size(), n_lengths = config.lengths.size();

  // Masks parsed once; every point gets its cost-model FLOPs and bytes up front (they predict the progress).
  std::vector<MaskSpec> masks(n_series);
  std::vector<std::string> mask_errors(n_series);
  for (size_t s = 0; s < n_series; ++s) {
    auto parsed = parse_mask(config.series[s].mask);
    if (parsed.ok) masks[s] = parsed.mask;
    else mask_errors[s] = "mask '" + config.series[s].mask + "': " + parsed.error;
  }
  result.series.resize(n_series);
  for (size_t s = 0; s < n_series; ++s) {
    result.series[s].series = config.series[s];
    for (int64_t n : config.lengths) {
      SweepPoint p;
      p.n = n;
      if (mask_errors[s].empty()) {
        const AttentionSpec spec = spec_at(config, n, masks[s]);
        const AlgorithmCost cost = algorithm_cost(config.series[s].algorithm, spec, config.tiles,
                                                  pattern_stats(spec, config.tiles, false));
        p.flops = cost.flops;
        p.bytes_moved = cost.hbm_bytes;
        p.bytes_io = static_cast<uint64_t>(dtype_bytes(config.dtype)) *
                     static_cast<uint64_t>(2 * spec.q_elements() + 2 * spec.kv_elements());
      }
      p.note = "the sweep was stopped before this point";
      result.series[s].points.push_back(p);
    }
  }

  // Progress follows the time spent: fraction = spent / (spent + expected remaining), where a finished point counts
  // its wall time (at least its timed runs: median × runs) and a pending one its expected time (expected_point_s).
  // Until a first point is measured no time can be predicted and the fraction is the share of points done. Reported
  // values never go back (a new measurement can raise the estimate of what remains).
  const size_t n_points = n_series * n_lengths;
  std::vector<char> done(n_points, 0);
  double spent_s = 0, reported = 0;
  size_t points_done = 0;
  auto last_rate = [&](const SweepSeriesResult& series) {  // FLOPs per ms of its largest measured point; 0: none
    for (auto it = series.points.rbegin(); it != series.points.rend(); ++it)
      if (it->status == PointStatus::Measured && it->timing.median_ms > 0 && it->flops > 0)
        return it->flops / it->timing.median_ms;
    return 0.0;
  };
  auto rate_of = [&](size_t s) {  // the series' own rate, else another series' (the best guess before its first point)
    if (const double own = last_rate(result.series[s]); own > 0) return own;
    for (const SweepSeriesResult& other : result.series)
      if (const double r = last_rate(other); r > 0) return r;
    return 0.0;
  };
  auto expected_s = [&](size_t s, size_t li) {  // -1: not predictable yet
    if (!mask_errors[s].empty()) return 0.0;
    const double rate = rate_of(s);
    return rate > 0 ? expected_point_s(config, result.series[s].points[li].flops / rate) : -1.0;
  };
  auto remaining = [&]() {  // expected seconds of the points not done; -1 when one cannot be predicted
    double remaining_s = 0;
    for (size_t li = 0; li < n_lengths; ++li)
      for (size_t s = 0; s < n_series; ++s) {
        if (done[li * n_series + s]) continue;
        const double e = expected_s(s, li);
        if (e < 0) return -1.0;
        remaining_s += e;
      }
    return remaining_s;
  };
  auto fraction = [&]() {
    if (points_done == n_points) return 1.0;
    const double remaining_s = remaining();
    const double f = remaining_s >= 0 && spent_s + remaining_s > 0
                         ? spent_s / (spent_s + remaining_s)
                         : static_cast<double>(points_done) / static_cast<double>(n_points);
    reported = std::max(reported, std::min(f, 1.0));
    return reported;
  };
  // The fraction when point (s, li) ends as expected: its expected time moves from remaining to spent.
  auto announce_point = [&](size_t s, size_t li) {
    if (!cb.point_started) return;
    const double e = expected_s(s, li), remaining_s = remaining();
    if (e > 0 && remaining_s >= 0 && spent_s + remaining_s > 0)
      cb.point_started(std::min(1.0, (spent_s + e) / (spent_s + remaining_s)), e);
  };
  auto point_text = [&](size_t s, int64_t n, size_t index) {
    return config.series[s].label + ", N = " + std::to_string(n) + " — point " + std::to_string(index + 1) + " of " +
           std::to_string(n_points);
  };
  auto point_started = std::chrono::steady_clock::now();
  auto report = [&](size_t s, const SweepPoint& p, size_t index) {
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - point_started).count();
    const double timed_s = p.status == PointStatus::Measured
                               ? p.timing.median_ms * 1e-3 * static_cast<double>(config.warmup + p.timing.samples_ms.size())
                               : 0.0;
    spent_s += std::max(wall_s, timed_s);
    done[index] = 1;
    ++points_done;
    if (cb.on_point) cb.on_point(static_cast<int>(s), p);
    if (cb.progress) cb.progress(fraction(), point_text(s, p.n, index) + ": " + point_status_name(p.status));
  };

  size_t index = 0;
  for (size_t li = 0; li < n_lengths && !result.cancelled; ++li) {
    for (size_t s = 0; s < n_series; ++s, ++index) {
      if (cb.should_stop && cb.should_stop()) {
        result.cancelled = true;
        break;
      }
      SweepPoint& p = result.series[s].points[li];
      const SweepSeries& series = config.series[s];
      point_started = std::chrono::steady_clock::now();
      if (cb.progress) cb.progress(fraction(), point_text(s, p.n, index));
      if (!mask_errors[s].empty()) {
        p.status = PointStatus::OverLimits;
        p.note = mask_errors[s];
        report(s, p, index);
        continue;
      }
      const AttentionSpec spec = spec_at(config, p.n, masks[s]);
      std::string why;
      bool runnable = true;
      if (auto problems = validate(spec, limits, materialises_scores(series.algorithm)); !problems.empty()) {
        why = problems.front();
        runnable = false;
      } else if (!backend.supports(series.algorithm, spec, &why)) {
        if (why.empty()) why = std::string(algorithm_name(series.algorithm)) + " is not supported by this backend";
        runnable = false;
      }
      if (!runnable) {
        p.status = PointStatus::OverLimits;
        p.note = why;
        report(s, p, index);
        continue;
      }
      // The time cap: extrapolate from the series' last measured point by the cost model's FLOPs.
      const SweepPoint* last = nullptr;
      for (size_t k = 0; k < li; ++k)
        if (result.series[s].points[k].status == PointStatus::Measured) last = &result.series[s].points[k];
      bool try_for_oom = false;
      if (last && last->flops > 0) p.predicted_ms = last->timing.median_ms * p.flops / last->flops;
      if (config.time_cap_s > 0 && p.predicted_ms > 0) {
        if (p.predicted_ms > config.time_cap_s * 1e3) {
          // Allocation grows like the series' measured allocations (fitted slope, at least linear).
          fit_series(result.series[s], config.fit_points);
          const double slope = result.series[s].memory_fit.ok ? std::max(0.0, result.series[s].memory_fit.slope) : 2.0;
          p.predicted_bytes = static_cast<uint64_t>(static_cast<double>(last->bytes_allocated) *
                                                    std::pow(static_cast<double>(p.n) / static_cast<double>(last->n), slope));
          const MemoryInfo mem = backend.memory();
          try_for_oom = mem.known && mem.free_bytes > 0 &&
                        static_cast<double>(p.predicted_bytes) > 1.5 * static_cast<double>(mem.free_bytes);
          if (!try_for_oom) {
            p.status = PointStatus::Capped;
            char buf[160];
            std::snprintf(buf, sizeof buf, "not run: one run would take about %.1f s (cap %.1f s per run)",
                          p.predicted_ms * 1e-3, config.time_cap_s);
            p.note = buf;
            report(s, p, index);
            continue;
          }
        }
      }
      announce_point(s, li);
      AttentionInputs inputs;
      try {
        inputs = generate_inputs(spec, Generator::Gaussian, config.seed + static_cast<uint64_t>(p.n));
      } catch (const std::bad_alloc&) {
        p.status = PointStatus::OutOfMemory;
        p.note = "no host memory for the inputs of " + spec.summary();
        report(s, p, index);
        continue;
      }
      RunRequest request;
      request.algorithm = series.algorithm;
      request.inputs = &inputs;
      request.tiles = config.tiles;
      request.warmup = try_for_oom ? 0 : config.warmup;
      // Small points are cheap: more runs make their median and minimum steadier.
      int repetitions = std::max(1, config.repetitions);
      if (p.predicted_ms > 0 && config.min_timed_s > 0)
        repetitions = std::clamp(static_cast<int>(std::ceil(config.min_timed_s * 1e3 / p.predicted_ms)), repetitions,
                                 std::max(repetitions, 50));
      request.repetitions = try_for_oom ? 1 : repetitions;
      request.want_output = false;
      const RunResult r = backend.run(request);
      if (r.ok) {
        p.status = PointStatus::Measured;
        p.note.clear();
        p.timing = r.timing;
        p.flops = r.flops > 0 ? r.flops : p.flops;
        p.bytes_moved = r.bytes_moved > 0 ? r.bytes_moved : p.bytes_moved;
        p.bytes_allocated = r.bytes_allocated;
      } else if (r.out_of_memory) {
        p.status = PointStatus::OutOfMemory;
        p.note = r.error;
        p.bytes_needed = r.bytes_needed;
        p.bytes_free = r.bytes_free;
      } else {
        p.status = PointStatus::Failed;
        p.note = r.error;
      }
      report(s, p, index);
    }
  }
  for (auto& s : result.series) fit_series(s, config.fit_points);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace attnscope
