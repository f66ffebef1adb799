// tasks.cpp — the "Beyond attention" mode's work on the worker thread: the N sweep over five kinds of sequence
// mixing (points reported live), the block's parts against N, the decode loops, the approximation. No ImGui.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>

#include "app/gui/views/beyond/model.hpp"
#include "core/beyond_runs.hpp"
#include "core/linear_attention.hpp"
#include "core/selective_scan.hpp"

namespace attnscope::gui {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Algorithm attention_algorithm(BeyondKind k) {
  return k == BeyondKind::Naive ? Algorithm::Naive : k == BeyondKind::Flash ? Algorithm::Flash : Algorithm::BlockSparse;
}

ScanShape scan_shape(const BeyondSweepConfig& c, int64_t n) { return {c.batch, n, c.heads * c.head_dim, c.scan_state}; }

// FLOPs (for the time cap's extrapolation) and the bytes of the inputs and outputs of one point.
void point_costs(const BeyondSweepConfig& c, BeyondKind kind, SweepPoint& p) {
  if (kind == BeyondKind::Scan) {
    p.flops = selective_scan_flops(scan_shape(c, p.n));
    p.bytes_moved = selective_scan_bytes(scan_shape(c, p.n));
    p.bytes_io = static_cast<uint64_t>(p.bytes_moved);
    return;
  }
  const AttentionSpec spec = beyond_spec(c, kind, p.n);
  p.bytes_io = 4 * static_cast<uint64_t>(2 * spec.q_elements() + 2 * spec.kv_elements());
  if (kind == BeyondKind::Linear) {
    p.flops = linear_attention_flops(spec, c.linear_chunk);
    p.bytes_moved = linear_attention_bytes(spec);
    return;
  }
  const TileConfig tiles;
  const AlgorithmCost cost = algorithm_cost(attention_algorithm(kind), spec, tiles, pattern_stats(spec, tiles, false));
  p.flops = cost.flops;
  p.bytes_moved = cost.hbm_bytes;
}

// One point: runs it (or says why not) and fills the point.
void run_point(Backend& backend, const BeyondSweepConfig& c, BeyondKind kind, int repetitions, SweepPoint& p) {
  auto take = [&p](bool ok, bool oom, const std::string& error, const Timing& timing, uint64_t allocated) {
    if (ok) {
      p.status = PointStatus::Measured;
      p.timing = timing;
      p.bytes_allocated = allocated;
    } else {
      p.status = oom ? PointStatus::OutOfMemory : PointStatus::Failed;
      p.note = error;
    }
  };
  try {
    if (kind == BeyondKind::Scan) {
      const ScanInputs in = generate_scan_inputs(scan_shape(c, p.n), c.seed + static_cast<uint64_t>(p.n));
      SelectiveScanRunRequest req;
      req.inputs = &in;
      req.chunk = c.scan_chunk;
      req.warmup = c.warmup;
      req.repetitions = repetitions;
      req.want_output = false;
      const SequenceRunResult r = backend.run_selective_scan(req);
      take(r.ok, r.out_of_memory, r.error, r.timing, r.bytes_allocated);
      return;
    }
    const AttentionSpec spec = beyond_spec(c, kind, p.n);
    if (kind != BeyondKind::Linear) {
      const Algorithm a = attention_algorithm(kind);
      std::string why;
      if (auto problems = validate(spec, backend.limits(), materialises_scores(a)); !problems.empty()) {
        p.status = PointStatus::OverLimits;
        p.note = problems.front();
        return;
      }
      if (!backend.supports(a, spec, &why)) {
        p.status = PointStatus::OverLimits;
        p.note = why.empty() ? std::string(algorithm_name(a)) + " is not supported by this backend" : why;
        return;
      }
    }
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, c.seed + static_cast<uint64_t>(p.n));
    if (kind == BeyondKind::Linear) {
      LinearAttentionRunRequest req;
      req.inputs = &in;
      req.chunk = c.linear_chunk;
      req.warmup = c.warmup;
      req.repetitions = repetitions;
      req.want_output = false;
      const SequenceRunResult r = backend.run_linear_attention(req);
      take(r.ok, r.out_of_memory, r.error, r.timing, r.bytes_allocated);
      return;
    }
    RunRequest req;
    req.algorithm = attention_algorithm(kind);
    req.inputs = &in;
    req.warmup = c.warmup;
    req.repetitions = repetitions;
    req.want_output = false;
    const RunResult r = backend.run(req);
    take(r.ok, r.out_of_memory, r.error, r.timing, r.bytes_allocated);
    if (r.out_of_memory) {
      p.bytes_needed = r.bytes_needed;
      p.bytes_free = r.bytes_free;
    }
  } catch (const std::bad_alloc&) {
    p.status = PointStatus::OutOfMemory;
    p.note = "no host memory for the inputs at N = " + std::to_string(p.n);
  }
}

}  // namespace

TaskFn<BeyondSweepResult> make_beyond_sweep_task(const BeyondSweepConfig& config,
                                                 std::shared_ptr<BeyondSweepLive> live) {
  return [config, live](Backend& backend, TaskControl& control) -> BeyondSweepResult {
    const auto start = std::chrono::steady_clock::now();
    BeyondSweepResult result;
    result.backend = backend.name();
    result.device = backend.device_name();
    result.config = config;
    for (int k = 0; k < kBeyondKinds; ++k) {
      BeyondSeries s;
      s.kind = static_cast<BeyondKind>(k);
      s.label = beyond_kind_name(s.kind);
      if (s.kind == BeyondKind::SlidingWindow) s.label += " " + std::to_string(config.window);
      result.series.push_back(s);
    }
    auto publish = [&] {
      std::lock_guard lock(live->mutex);
      live->partial = result;
      ++live->version;
    };
    publish();
    const size_t total = config.lengths.size() * kBeyondKinds;
    size_t index = 0;
    for (size_t li = 0; li < config.lengths.size() && !result.cancelled; ++li) {
      for (int k = 0; k < kBeyondKinds; ++k, ++index) {
        if (control.cancel) {
          result.cancelled = true;
          break;
        }
        BeyondSeries& series = result.series[static_cast<size_t>(k)];
        SweepPoint p;
        p.n = config.lengths[li];
        point_costs(config, series.kind, p);
        control.progress = static_cast<double>(index) / static_cast<double>(total);
        control.set_status(series.label + ", N = " + std::to_string(p.n) + " — point " + std::to_string(index + 1) +
                           " of " + std::to_string(total));
        // The time cap: the last measured point's time scaled by FLOPs.
        const SweepPoint* last = nullptr;
        for (const SweepPoint& q : series.points)
          if (q.status == PointStatus::Measured) last = &q;
        if (last && last->flops > 0) p.predicted_ms = last->timing.median_ms * p.flops / last->flops;
        if (config.time_cap_s > 0 && p.predicted_ms > config.time_cap_s * 1e3) {
          p.status = PointStatus::Capped;
          char buf[160];
          std::snprintf(buf, sizeof buf, "not run: one run would take about %.1f s (cap %.1f s per run)",
                        p.predicted_ms * 1e-3, config.time_cap_s);
          p.note = buf;
        } else {
          int reps = std::max(1, config.repetitions);
          if (p.predicted_ms > 0 && config.min_timed_s > 0)
            reps = std::clamp(static_cast<int>(std::ceil(config.min_timed_s * 1e3 / p.predicted_ms)), reps,
                              std::max(reps, 50));
          run_point(backend, config, series.kind, reps, p);
        }
        series.points.push_back(p);
        fit_beyond_series(series, config.fit_points);
        publish();
      }
    }
    result.seconds = seconds_since(start);
    return result;
  };
}

TaskFn<LayerSweepResult> make_layer_sweep_task(const LayerSweepConfig& config) {
  return [config](Backend& backend, TaskControl& control) -> LayerSweepResult {
    LayerSweepResult result;
    result.backend = backend.name();
    result.device = backend.device_name();
    result.config = config;
    const LayerPoint* last = nullptr;
    for (size_t i = 0; i < config.lengths.size(); ++i) {
      if (control.cancel) {
        result.cancelled = true;
        break;
      }
      LayerPoint p;
      p.n = config.lengths[i];
      control.progress = static_cast<double>(i) / static_cast<double>(config.lengths.size());
      control.set_status("one " + config.model.title + " block at N = " + std::to_string(p.n));
      const LayerTimingRequest req = layer_request(config, p.n);
      // Predicted from the last measured N: attention by its FLOPs (∝ N²), the GEMMs ∝ N.
      double predicted_ms = 0;
      if (last) {
        const std::vector<double> now = layer_part_flops(req), before = layer_part_flops(layer_request(config, last->n));
        for (size_t k = 0; k < 4; ++k) predicted_ms += last->parts[k].timing.median_ms * now[k] / before[k];
      }
      if (config.time_cap_s > 0 && predicted_ms > config.time_cap_s * 1e3) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "not run: one block would take about %.1f s (cap %.1f s)", predicted_ms * 1e-3,
                      config.time_cap_s);
        p.note = buf;
        result.points.push_back(p);
        continue;
      }
      // A block predicted to take over a second runs once, without warm-up: the long runs are steady, short ones
      // repeat for a steadier median.
      LayerTimingRequest timed = req;
      if (predicted_ms > 1e3) {
        timed.warmup = 0;
        timed.repetitions = 1;
      }
      const LayerTimingResult r = backend.time_layer(timed);
      if (r.ok) {
        p.measured = true;
        p.parts = r.parts;
        if (result.attention_what.empty()) {
          result.attention_what = r.parts[1].what;
          result.gemm_what = r.parts[0].what;
        }
      } else {
        p.note = r.error;
      }
      result.points.push_back(p);
      if (p.measured) last = &result.points.back();
    }
    return result;
  };
}

TaskFn<BeyondDecodeResult> make_beyond_decode_task(const BeyondDecodeConfig& config) {
  return [config](Backend& backend, TaskControl& control) -> BeyondDecodeResult {
    BeyondDecodeResult result;
    result.config = config;
    const ModelPreset& m = config.model;
    control.set_status("KV-cache decode loop to " + std::to_string(config.max_context) + " tokens");
    DecodeLoopRequest kv;
    kv.batch = config.batch;
    kv.q_heads = m.heads;
    kv.kv_heads = m.kv_heads;
    kv.head_dim = m.head_dim;
    kv.context = config.max_context;
    kv.measure_every = std::max<int64_t>(1, config.max_context / 16);
    kv.repetitions = config.repetitions;
    result.kv = backend.decode_loop(kv);
    control.progress = 0.6;
    if (control.cancel) return result;
    std::vector<int64_t> contexts;
    for (const DecodeStepSample& s : result.kv.samples) contexts.push_back(s.context);
    if (contexts.empty())
      for (int64_t t = kv.measure_every; t <= config.max_context; t += kv.measure_every) contexts.push_back(t);
    RecurrentDecodeRequest rq;
    rq.batch = config.batch;
    rq.heads = m.heads;
    rq.kv_heads = m.kv_heads;
    rq.head_dim = m.head_dim;
    rq.channels = m.d_model;
    rq.state = config.scan_state;
    rq.contexts = contexts;
    rq.repetitions = std::max(config.repetitions, 10);
    control.set_status("recurrent decode step: linear attention");
    rq.model = RecurrentModel::LinearAttention;
    result.linear = backend.recurrent_decode(rq);
    control.progress = 0.8;
    control.set_status("recurrent decode step: selective scan");
    rq.model = RecurrentModel::SelectiveScan;
    result.scan = backend.recurrent_decode(rq);
    control.progress = 1;
    return result;
  };
}

TaskFn<ApproximationResult> make_approximation_task(const ApproximationConfig& config) {
  return [config](Backend& backend, TaskControl& control) -> ApproximationResult {
    control.set_status("softmax and linear attention on the same Q, K, V");
    return compute_approximation(backend, config);
  };
}

}  // namespace attnscope::gui
