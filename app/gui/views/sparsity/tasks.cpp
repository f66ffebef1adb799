// tasks.cpp — the Sparsity mode's work on the worker: for one pattern, exact densities from the block mask, the cost
// model's FLOPs and bytes for dense flash vs block-sparse (and gathered), the mask picture and measured runs.
#include <algorithm>
#include <cmath>

#include "app/gui/views/sparsity/model.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {

namespace {
bool has_element_pattern(const MaskSpec& m) {
  return std::any_of(m.terms.begin(), m.terms.end(), [](const MaskTerm& t) {
    return t.kind == MaskTermKind::Strided || t.kind == MaskTermKind::Dilated;
  });
}

MeasuredRun measure(Backend& backend, Algorithm algorithm, const AttentionInputs& inputs, const PatternRequest& req) {
  MeasuredRun m;
  std::string why;
  if (!backend.supports(algorithm, inputs.spec, &why)) {
    m.error = why;
    return m;
  }
  RunRequest run;
  run.algorithm = algorithm;
  run.inputs = &inputs;
  run.tiles = req.tiles;
  run.warmup = 1;
  run.repetitions = std::max(1, req.repetitions);
  run.want_output = false;
  RunResult r = backend.run(run);
  m.ok = r.ok;
  m.error = r.error;
  m.timing = r.timing;
  return m;
}
}  // namespace

PatternNumbers compute_pattern_numbers(Backend& backend, const PatternRequest& req,
                                       const std::function<void(double, const std::string&)>& progress,
                                       const std::function<bool()>& cancelled) {
  PatternNumbers out;
  const AttentionSpec& spec = req.spec;
  out.key = pattern_key(spec, req.tiles, req.measure);
  progress(0.0, "block mask (exact pair count)");
  out.block_mask = build_block_mask(spec, req.tiles.br, req.tiles.bc, /*count_pairs=*/true);
  out.gathered_relevant = has_element_pattern(spec.mask);
  if (cancelled()) { out.cancelled = true; return out; }
  progress(0.15, "cost model");
  out.pattern = pattern_stats(spec, req.tiles, out.gathered_relevant);
  // The dense baseline is flash with no mask (as measured below): every tile, whatever the pattern.
  AttentionSpec dense_spec = spec;
  dense_spec.mask = MaskSpec{};
  out.flash = algorithm_cost(Algorithm::Flash, dense_spec, req.tiles, PatternStats{});
  out.block_sparse = algorithm_cost(Algorithm::BlockSparse, spec, req.tiles, out.pattern);
  if (out.gathered_relevant) out.gathered = algorithm_cost(Algorithm::Gathered, spec, req.tiles, out.pattern);
  // Time follows the busiest unit: the straggler-aware prediction on the backend's units.
  const BackendCapabilities caps = backend.capabilities();
  out.stragglers = straggler_prediction(out.block_mask, spec.batch * spec.q_heads, caps.parallel_units);
  out.stragglers.measured_split = caps.visit_split_default == VisitSplit::Auto;  // measure() leaves it to the backend
  if (cancelled()) { out.cancelled = true; return out; }

  // The mask picture: fraction of allowed pairs per cell (cells split the matrix as score_image does).
  progress(0.3, "mask picture");
  const int64_t nq = spec.q_len, nk = spec.kv_len, offset = nk - nq;
  out.picture_rows = static_cast<int>(std::min<int64_t>(nq, req.picture_cells));
  out.picture_cols = static_cast<int>(std::min<int64_t>(nk, req.picture_cells));
  out.picture.assign(static_cast<size_t>(out.picture_rows) * out.picture_cols, 0.0f);
  const MaskView view = spec.mask.view();
  for (int r = 0; r < out.picture_rows; ++r) {
    const int64_t q0 = nq * r / out.picture_rows, q1 = nq * (r + 1) / out.picture_rows;
    for (int c = 0; c < out.picture_cols; ++c) {
      const int64_t k0 = nk * c / out.picture_cols, k1 = nk * (c + 1) / out.picture_cols;
      const int64_t allowed = count_allowed(view, q0 + offset, q1 + offset, k0, k1);
      out.picture[static_cast<size_t>(r) * out.picture_cols + c] =
          static_cast<float>(static_cast<double>(allowed) / static_cast<double>((q1 - q0) * (k1 - k0)));
    }
    if (cancelled()) { out.cancelled = true; return out; }
  }
  out.ok = true;
  if (!req.measure) return out;

  // Measured: dense flash (no mask, every tile) against block-sparse (and gathered) on the pattern, same inputs.
  progress(0.4, "generating inputs");
  const AttentionInputs inputs = generate_inputs(spec, Generator::Gaussian, req.seed);
  out.backend = backend.name();
  out.device = backend.device_name();
  if (cancelled()) { out.cancelled = true; return out; }
  // The dense baseline runs with no mask at all: a backend's flash may itself skip empty tiles (the CUDA kernel
  // does), so flash on the pattern would not be the dense cost the speed-up is measured against.
  progress(0.45, "timing dense flash (no mask)");
  {
    AttentionInputs dense = inputs;
    dense.spec.mask = MaskSpec{};
    out.flash_run = measure(backend, Algorithm::Flash, dense, req);
  }
  if (cancelled()) { out.cancelled = true; return out; }
  progress(out.gathered_relevant ? 0.65 : 0.75, "timing block-sparse");
  out.sparse_run = measure(backend, Algorithm::BlockSparse, inputs, req);
  if (out.gathered_relevant) {
    if (cancelled()) { out.cancelled = true; return out; }
    progress(0.85, "timing gathered");
    out.gathered_run = measure(backend, Algorithm::Gathered, inputs, req);
  }
  out.measured = true;
  // Why measured and predicted may disagree: the busiest row (stragglers), partial tiles, small N, the backend.
  out.gap_reasons = speedup_gap_reasons(out, out.flash_run.ok ? out.flash_run.timing.median_ms : 0);
  progress(1.0, "done");
  return out;
}

}  // namespace attnscope::gui
