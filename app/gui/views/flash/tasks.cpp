// tasks.cpp — the FlashAttention mode's work on the worker: naive and traced flash runs (at the run dtype), the cost
// model, and the probed row's exact softmax.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/flash/model.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {

// ---- compute_flash_view ----------------------------------------------------------------------------------------

namespace {

FlashRunSummary timed_run(Backend& backend, Algorithm algorithm, const AttentionInputs& inputs, const TileConfig& tiles,
                          bool trace, int32_t probe_row, RunResult* full, TensorCorePath path = TensorCorePath::Auto,
                          bool sm_timeline = false) {
  RunRequest request;
  request.tensor_core_path = path;
  request.record_sm_timeline = sm_timeline;
  request.algorithm = algorithm;
  request.inputs = &inputs;
  request.tiles = tiles;
  request.warmup = 1;
  request.repetitions = kFlashTimedRuns;
  request.want_output = false;
  request.record_trace = trace;
  if (trace) request.probe_rows = {probe_row};
  RunResult r = backend.run(request);
  FlashRunSummary s;
  s.ok = r.ok;
  s.error = r.error;
  s.algorithm = algorithm;
  s.dtype = inputs.spec.dtype;
  s.kernel = r.kernel;
  s.timing = r.timing;
  s.bytes_allocated = r.bytes_allocated;
  if (full) *full = std::move(r);
  return s;
}

// FA-1, FA-2 and the FA-3 design on the traced shape, at the dtype the tensor-core kernel runs (fp16 for an fp32
// experiment) when the backend has it, else at the traced dtype, so the three compare like with like.
void time_versions(Backend& backend, FlashViewResult& result, const ExperimentConfig& config, const TileConfig& tiles) {
  AttentionSpec spec = result.spec;
  const RunDtype tc = choose_run_dtype(backend, Algorithm::FlashTensorCore, spec);
  spec.dtype = tc.ok ? tc.dtype : spec.dtype;
  result.versions_dtype = spec.dtype;
  const AttentionInputs inputs = generate_inputs(spec, config.generator, config.seed);
  struct Version { const char* name; const char* design; Algorithm algorithm; TensorCorePath path; };
  const Version versions[] = {
      {"FA-1", "one CTA per (batch, head); K/V tiles outer, Q tiles inner; O, m, l read and written in memory each pass",
       Algorithm::Flash1, TensorCorePath::Auto},
      {"FA-2", "one CTA per Q tile; K/V tiles stream past it; O, m, l stay on chip and O is written once",
       tc.ok ? Algorithm::FlashTensorCore : Algorithm::Flash, TensorCorePath::Mma},
      {"FA-3 design", "FA-2's order with a producer warp copying tiles (TMA) while consumer warpgroups alternate "
       "matrix products (wgmma) and softmax",
       Algorithm::FlashTensorCore, TensorCorePath::WarpSpecialized}};
  for (const Version& v : versions) {
    FlashVersionRow row;
    row.version = v.name;
    row.design = v.design;
    row.path = v.algorithm == Algorithm::FlashTensorCore ? v.path : TensorCorePath::Auto;
    std::string why;
    if (!backend.supports(v.algorithm, spec, &why)) {
      row.refused = v.algorithm == Algorithm::FlashTensorCore
                        ? "needs the CUDA backend on an NVIDIA GPU (" + why + ")"
                        : why;
      if (row.path == TensorCorePath::WarpSpecialized) result.sm_timeline_refused = row.refused;
    } else if (row.path == TensorCorePath::WarpSpecialized) {
      // The FA-3 design's run also logs one CTA's warpgroups (inside one SM), where the backend can.
      RunResult full;
      row.run = timed_run(backend, v.algorithm, inputs, tiles, false, 0, &full, row.path, true);
      if (full.ok && full.sm_timeline) {
        result.sm_timeline = std::move(full.sm_timeline);
      } else if (!full.ok) {  // the timeline may be what failed: time the kernel alone
        result.sm_timeline_refused = full.error;
        row.run = timed_run(backend, v.algorithm, inputs, tiles, false, 0, nullptr, row.path);
      }
    } else {
      row.run = timed_run(backend, v.algorithm, inputs, tiles, false, 0, nullptr, row.path);
    }
    if (row.refused.empty()) {
      // The cost model at the tiles that ran: the CPU twins take the asked-for tiles; the CUDA kernels fix theirs
      // (kernels/flash1/: 64 × 64; kernels/flash_tc/: 128 × 64; the fp32 flash kernel: 64 × 64).
      const TileConfig ran = backend.capabilities().host_cpu ? tiles
                             : v.algorithm == Algorithm::FlashTensorCore ? TileConfig{128, 64}
                                                                         : TileConfig{64, 64};
      row.run.cost = algorithm_cost(v.algorithm, spec, ran, pattern_stats(spec, ran, false));
    }
    result.versions.push_back(std::move(row));
  }
}

}  // namespace

std::shared_ptr<const FlashViewResult> compute_flash_view(Backend& backend, TaskControl& control,
                                                          const FlashViewKey& key,
                                                          std::optional<FlashRunSummary> previous_naive) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = std::make_shared<FlashViewResult>();
  result->key = key;
  result->backend = backend.name();
  result->device = backend.device_name();
  auto finish = [&](std::string error) {
    result->error = std::move(error);
    result->compute_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    control.progress = 1.0;
    return std::shared_ptr<const FlashViewResult>(result);
  };
  const FlashSpecResult fs = flash_view_spec(key.config, backend.limits());
  if (!fs.ok) {
    std::string all;
    for (auto& e : fs.errors) all += (all.empty() ? "" : "; ") + e;
    return finish(all);
  }
  // What this backend can run (at some dtype), for the order menu; cheap questions, no device work.
  for (FlashOrder o : kFlashOrders) {
    const RunDtype rd = choose_run_dtype(backend, flash_order_algorithm(o), fs.spec);
    result->order_refusals.push_back(rd.ok ? std::string() : rd.refused);
  }
  // The chosen kernel at the experiment's dtype, or the closest one it is built for; naive runs at the same one,
  // so the two rows compare like with like.
  const Algorithm algorithm = flash_order_algorithm(key.order);
  const RunDtype rd = choose_run_dtype(backend, algorithm, fs.spec);
  if (!rd.ok) return finish(rd.refused);
  result->spec = fs.spec;
  result->spec.dtype = rd.dtype;
  const AttentionSpec& spec = result->spec;
  result->reduced_note = fs.reduced_note;
  if (rd.substituted)
    result->dtype_note = std::string(algorithm_name(algorithm)) + " runs " + dtype_name(rd.dtype) + " here: the experiment's " +
                         dtype_name(fs.spec.dtype) + " is refused (" + rd.refused + ")";
  result->row = key.row < 0 ? default_probe_row(spec.q_len, key.tiles.br) : key.row;
  result->row = std::clamp<int32_t>(result->row, 0, static_cast<int32_t>(spec.q_len - 1));

  control.set_status("generating Q, K, V");
  control.progress = 0.05;
  const AttentionInputs inputs = generate_inputs(spec, key.config.generator, key.config.seed);
  if (control.cancel) return finish("cancelled");

  // Naive first (untraced): its time is the reference the flash time is compared with.
  if (previous_naive && previous_naive->dtype == spec.dtype) {
    result->naive = *previous_naive;
  } else {
    control.set_status("timing naive (S and P in memory)");
    control.progress = 0.15;
    result->naive = timed_run(backend, Algorithm::Naive, inputs, key.tiles, false, 0, nullptr);
  }
  if (control.cancel) return finish("cancelled");

  // The flash order: timed untraced by the backend, then one extra traced run for the replay.
  control.set_status(std::string("timing and tracing ") + algorithm_name(algorithm));
  control.progress = 0.45;
  RunResult run;
  result->flash = timed_run(backend, algorithm, inputs, key.tiles, true, result->row, &run);
  if (!run.ok) return finish(std::string(algorithm_name(algorithm)) + ": " + run.error);
  if (!run.trace) return finish(std::string("the ") + backend.name() + " backend returned no trace for " +
                                algorithm_name(algorithm));
  result->trace = std::move(*run.trace);
  result->has_trace = true;
  result->tiles = {result->trace.br, result->trace.bc};
  if (control.cancel) return finish("cancelled");

  control.set_status("cost model, block mask, replay index");
  control.progress = 0.75;
  const PatternStats stats = pattern_stats(spec, result->tiles, false);
  result->flash.cost = algorithm_cost(algorithm, spec, result->tiles, stats);
  result->naive.cost = algorithm_cost(Algorithm::Naive, spec, result->tiles, stats);
  result->tile_kinds = build_block_mask(spec, result->tiles.br, result->tiles.bc, false).kinds;
  if (algorithm == Algorithm::FlashTensorCore && validate_schedule_tiles(result->tiles.br, result->tiles.bc).empty()) {
    result->schedule = build_visit_schedule(spec, result->tiles.br, result->tiles.bc);
    result->gathered = result->schedule.gathered;
    if (!result->gathered) result->schedule = VisitSchedule{};  // block-sparse: k_tile is the K/V tile; not needed
  }
  control.set_status("timing FA-1, FA-2 and the FA-3 design");
  control.progress = 0.8;
  time_versions(backend, *result, key.config, key.tiles);
  if (control.cancel) return finish("cancelled");
  result->replay = build_trace_replay(result->trace, result->row);
  result->traced_span_ms = static_cast<double>(result->replay.end_ns) * 1e-6;

  // The probed row: exact softmax from the double-precision reference, and the kernel's reconstruction
  //   p_j = exp(s_j − m) / l   with m and l the row's state after its last tile.
  control.set_status("reference softmax of the probed row");
  control.progress = 0.85;
  const ReferenceHead ref = reference_head(inputs, 0, 0);
  const size_t cols = static_cast<size_t>(ref.cols), row = static_cast<size_t>(result->row);
  result->row_scores.assign(ref.scores.begin() + row * cols, ref.scores.begin() + (row + 1) * cols);
  result->exact_p.assign(ref.probabilities.begin() + row * cols, ref.probabilities.begin() + (row + 1) * cols);
  for (auto& probe : result->trace.probes) {
    if (probe.batch != 0 || probe.head != 0 || probe.row != result->row || probe.steps.empty()) continue;
    const double m = probe.steps.back().m, l = probe.steps.back().l;
    result->kernel_p.resize(cols);
    for (size_t j = 0; j < cols; ++j) {
      const double s = result->row_scores[j];
      result->kernel_p[j] = (l > 0 && std::isfinite(s)) ? std::exp(s - m) / l : 0.0;
      result->max_abs_diff = std::max(result->max_abs_diff, std::abs(result->kernel_p[j] - result->exact_p[j]));
    }
    result->probe_ok = true;
  }
  return finish("");
}

}  // namespace attnscope::gui
