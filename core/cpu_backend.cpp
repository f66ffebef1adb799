// cpu_backend.cpp — the CPU backend: runs the requested algorithm's CPU twin and measures it.
#include "core/cpu_backend.hpp"
#include "core/beyond_runs.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <fstream>
#include <mutex>
#include <new>
#include <thread>
#include <unistd.h>

#include "core/backward.hpp"
#include "core/block_mask.hpp"
#include "core/ceilings.hpp"
#include "core/cost_model.hpp"
#include "core/tile_kernels.hpp"
#include "core/cpu_twins.hpp"
#include "core/finite_check.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// The CPU model name from /proc/cpuinfo, for labels and trace headers.
std::string cpu_model_name() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line))
    if (line.rfind("model name", 0) == 0)
      if (auto colon = line.find(':'); colon != std::string::npos) return line.substr(colon + 2);
  return "CPU";
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads), model_(cpu_model_name()) {}

  std::string name() const override { return "cpu"; }
  BackendCapabilities capabilities() const override {
    BackendCapabilities c;  // host memory, the host's cores, traces per worker thread
    c.sweep_time_cap_s = 1.0;     // the sweep finishes in about a minute
    c.decode_loop_context = 1024; // the CPU twin decodes slower: fewer tokens (a lesson step stays near a second)
    c.parallel_units = pool_.size();
    c.visit_split_default = VisitSplit::Auto;
    return c;
  }
  std::string device_name() const override { return model_ + " (" + std::to_string(pool_.size()) + " threads)"; }

  bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const override {
    if (algorithm == Algorithm::Reference) return true;
    if (!has_cpu_twin(algorithm)) {
      if (why_not) *why_not = std::string(algorithm_name(algorithm)) + " has no CPU twin (it is a CUDA kernel)";
      return false;
    }
    if (algorithm == Algorithm::Decode && spec.q_len > kDecodeMaxQueries) {
      if (why_not)
        *why_not = "decode takes the newest 1.." + std::to_string(kDecodeMaxQueries) + " queries (query length " +
                   std::to_string(spec.q_len) + "); set the query length to 1 or use flash";
      return false;
    }
    return true;
  }

  RunResult run(const RunRequest& request) override {
    RunResult r;
    r.backend = name();
    r.device = device_name();
    r.algorithm = request.algorithm;
    if (!request.inputs) { r.error = "no inputs given"; return r; }
    const AttentionInputs& in = *request.inputs;
    auto problems = validate(in.spec, limits(), materialises_scores(request.algorithm));
    if (!problems.empty()) { r.error = problems.front(); return r; }
    if (in.q.size() != static_cast<size_t>(in.spec.q_elements()) ||
        in.k.size() != static_cast<size_t>(in.spec.kv_elements()) ||
        in.v.size() != static_cast<size_t>(in.spec.kv_elements())) {
      r.error = "input arrays do not match the spec " + in.spec.summary();
      return r;
    }
    std::string why;
    if (!supports(request.algorithm, in.spec, &why)) { r.error = why; return r; }
    if (request.record_sm_timeline) {
      r.error = "the inside-one-SM timeline is logged by the warp-specialised Hopper kernel (flash-tc, path ws): run "
                "on the CUDA backend of an H100 or H200";
      return r;
    }
    // NaN or Inf would come out as NaN rows, or as zero rows counted as "fully masked": refused, with where.
    if (const NonFiniteReport bad = find_non_finite(in); bad.any()) {
      r.error = "non-finite inputs: " + bad.describe("Q", "K", "V");
      return r;
    }
    std::lock_guard lock(run_mutex_);  // one run at a time on the shared pool

    const bool gathered = request.algorithm == Algorithm::Gathered;
    const AlgorithmCost cost = algorithm_cost(request.algorithm, in.spec, request.tiles,
                                              pattern_stats(in.spec, request.tiles, gathered));
    r.flops = cost.flops;
    r.bytes_moved = cost.hbm_bytes;

    std::vector<double> samples;
    const int reps = std::max(1, request.repetitions);
    if (request.algorithm == Algorithm::Reference) {
      ReferenceOutput out;
      for (int i = 0; i < std::max(0, request.warmup) + reps; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        out = reference_attention(in);
        if (i >= request.warmup) samples.push_back(elapsed_ms(t0));
      }
      r.timing = Timing::from_samples(samples);
      r.fully_masked_rows = out.fully_masked_rows;
      r.bytes_allocated = 8 * 2 * static_cast<uint64_t>(in.spec.kv_len) + 8 * static_cast<uint64_t>(in.spec.q_elements());
      if (request.want_output) r.output.assign(out.output.begin(), out.output.end());
      r.ok = true;
      return r;
    }

    std::vector<float> output;
    try {
      output.resize(static_cast<size_t>(in.spec.q_elements()));
    } catch (const std::bad_alloc&) {
      r.out_of_memory = true;
      r.bytes_needed = 4 * static_cast<uint64_t>(in.spec.q_elements());
      r.bytes_free = available_memory_bytes();
      r.error = "no memory for the output (" + format_bytes(static_cast<double>(r.bytes_needed)) + ")";
      return r;
    }
    TwinOptions options;
    options.tiles = request.tiles;
    options.device = device_name();
    options.visit_split = request.visit_split.value_or(capabilities().visit_split_default);
    std::vector<float> naive_workspace;  // S and P, reused by the repetitions of this call, freed after it
    options.naive_workspace = &naive_workspace;
    TwinResult twin;
    for (int i = 0; i < std::max(0, request.warmup) + reps; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      twin = run_cpu_twin(request.algorithm, in, options, pool_, output.data());
      if (!twin.ok) break;
      if (i >= request.warmup) samples.push_back(elapsed_ms(t0));
    }
    // Tracing costs time, so the trace comes from one extra, untimed run.
    if (twin.ok && request.record_trace) {
      options.record_trace = true;
      options.probe_rows = request.probe_rows;
      TwinResult traced = run_cpu_twin(request.algorithm, in, options, pool_, output.data());
      if (traced.ok) r.trace = std::move(traced.trace);
    }
    if (!twin.ok) {
      r.error = twin.error;
      r.out_of_memory = twin.out_of_memory;
      r.bytes_needed = twin.bytes_needed;
      r.bytes_free = twin.bytes_free;
      return r;
    }
    r.timing = Timing::from_samples(samples);
    r.bytes_allocated = twin.bytes_allocated;
    r.fully_masked_rows = twin.fully_masked_rows;
    if (twin.split_q_tiles > 0)  // as the CUDA backend words it: a split schedule says "split: "
      r.kernel = std::string(algorithm_name(request.algorithm)) + " (CPU twin), split: " +
                 std::to_string(twin.split_q_tiles) + " long Q tile" + (twin.split_q_tiles == 1 ? "" : "s") +
                 " run in pieces";
    if (request.want_output) r.output = std::move(output);
    r.ok = true;
    return r;
  }

  // Forward + backward with the twins of core/backward.hpp. Memory is counted from the buffers this call really
  // allocates (their element counts × 4 bytes, plus the workspace each twin reports); the peak is predicted from
  // the same sizes first and refused past the budget, so an over-budget N is an answer, not a crash.
  BackwardRunResult run_backward(const BackwardRequest& request) override {
    BackwardRunResult r;
    r.backend = name();
    r.device = device_name();
    r.algorithm = request.algorithm;
    if (!request.inputs) { r.error = "no inputs given"; return r; }
    const AttentionInputs& in = *request.inputs;
    const AttentionSpec& spec = in.spec;
    if (request.algorithm != Algorithm::Naive && request.algorithm != Algorithm::Flash) {
      r.error = std::string("the backward pass runs naive or flash, not ") + algorithm_name(request.algorithm);
      return r;
    }
    if (auto problems = validate(spec, limits(), materialises_scores(request.algorithm)); !problems.empty()) {
      r.error = problems.front();
      return r;
    }
    if (in.q.size() != static_cast<size_t>(spec.q_elements()) || in.k.size() != static_cast<size_t>(spec.kv_elements()) ||
        in.v.size() != static_cast<size_t>(spec.kv_elements())) {
      r.error = "input arrays do not match the spec " + spec.summary();
      return r;
    }
    if (request.d_out && request.d_out->size() != static_cast<size_t>(spec.q_elements())) {
      r.error = "dO has " + std::to_string(request.d_out->size()) + " elements but O has " +
                std::to_string(spec.q_elements()) + " (" + spec.summary() + "): dO must have Q's layout";
      return r;
    }
    if (request.tiles.br < 1 || request.tiles.bc < 1) {
      r.error = "tile sizes must be at least 1 (Br " + std::to_string(request.tiles.br) + ", Bc " +
                std::to_string(request.tiles.bc) + ")";
      return r;
    }
    if (const NonFiniteReport bad = find_non_finite(in); bad.any()) {
      r.error = "non-finite inputs: " + bad.describe("Q", "K", "V");
      return r;
    }
    const bool naive = request.algorithm == Algorithm::Naive;
    const uint64_t q_bytes = 4 * static_cast<uint64_t>(spec.q_elements());
    const uint64_t kv_bytes = 4 * static_cast<uint64_t>(spec.kv_elements());
    const uint64_t rows = static_cast<uint64_t>(spec.batch * spec.q_heads * spec.q_len);
    const uint64_t scores_per_head = static_cast<uint64_t>(spec.q_len) * static_cast<uint64_t>(spec.kv_len);
    const uint64_t running_tasks = static_cast<uint64_t>(
        std::min<int64_t>(naive ? spec.batch * spec.kv_heads : int64_t{1} << 40, pool_.size()));
    // The prediction of the peak (forward + backward), from the sizes the twins allocate.
    TrainingMemory predicted;
    predicted.tensors = 2 * q_bytes + 2 * kv_bytes;
    predicted.saved = naive ? 4 * rows * static_cast<uint64_t>(spec.kv_len) : 4 * rows;
    predicted.gradients = 2 * q_bytes + 2 * kv_bytes;
    predicted.workspace = naive ? 4 * scores_per_head * running_tasks : 4 * rows;
    const uint64_t available = available_memory_bytes();
    r.capacity_bytes = request.memory_budget_bytes ? request.memory_budget_bytes : available;
    r.capacity_words = request.memory_budget_bytes ? "the budget asked for" : "available host memory (MemAvailable)";
    // The twins compute only allowed pairs: the forward's two products QKᵀ and PV are 2·2·B·H·d FLOPs per allowed
    // pair; the backward does four (naive, from the saved P) or five (flash: S recomputed) against those two.
    const PatternStats stats = pattern_stats(spec, request.tiles, false);
    r.forward_flops = 4.0 * static_cast<double>(spec.batch * spec.q_heads * spec.head_dim) *
                      static_cast<double>(scores_per_head) * stats.allowed_fraction;
    r.backward_flops = r.forward_flops * (naive ? 2.0 : 2.5);
    r.kernel = naive ? "naive CPU twin: the forward keeps P of every head (fp32), the backward reads it; dP/dS per task"
                     : "flash-2 CPU twin: K/V tiles of " + std::to_string(request.tiles.bc) + " keys resident, Q tiles of " +
                           std::to_string(request.tiles.br) + " rows visited, S and P recomputed from lse";
    if (r.capacity_bytes > 0 && predicted.total() > r.capacity_bytes) {
      r.out_of_memory = true;
      r.bytes_needed = predicted.total();
      r.bytes_free = r.capacity_bytes;
      r.forward_backward = predicted;  // what it would have needed, by category
      r.error = std::string(algorithm_name(request.algorithm)) + " training needs " +
                format_bytes(static_cast<double>(predicted.total())) + " (saved " +
                format_bytes(static_cast<double>(predicted.saved)) + ") but " + r.capacity_words + " is " +
                format_bytes(static_cast<double>(r.capacity_bytes)) +
                (naive ? ": use flash, or a smaller N" : ": use a smaller N or batch");
      return r;
    }
    std::lock_guard lock(run_mutex_);  // one run at a time on the shared pool
    try {
      const std::vector<float> drawn = request.d_out ? std::vector<float>{} : random_d_out(spec, request.d_out_seed);
      const std::vector<float>& d_out = request.d_out ? *request.d_out : drawn;
      // Inference: the forward twin alone, once, for its workspace (naive: one head's S and P).
      std::vector<float> output(static_cast<size_t>(spec.q_elements()));
      std::vector<float> naive_workspace;
      TwinOptions options;
      options.tiles = request.tiles;
      options.device = device_name();
      options.naive_workspace = &naive_workspace;
      options.memory_limit_bytes = r.capacity_bytes;
      const TwinResult inference = run_cpu_twin(request.algorithm, in, options, pool_, output.data());
      if (!inference.ok) {
        r.error = inference.error;
        r.out_of_memory = inference.out_of_memory;
        r.bytes_needed = inference.bytes_needed;
        r.bytes_free = inference.bytes_free;
        return r;
      }
      r.forward_only.tensors = 4 * (in.q.size() + in.k.size() + in.v.size() + output.size());
      r.forward_only.workspace = inference.bytes_allocated;
      output = {};
      naive_workspace = {};

      std::vector<double> forward_ms, backward_ms;
      const int reps = std::max(1, request.repetitions);
      BackwardResult grads;
      uint64_t saved_bytes = 0, forward_tensor_bytes = 0;
      for (int rep = 0; rep < std::max(0, request.warmup) + reps; ++rep) {
        const bool timed = rep >= request.warmup;
        auto t0 = std::chrono::steady_clock::now();
        if (naive) {
          const NaiveForwardSaved saved = naive_forward_saving_p(in, pool_);
          if (timed) forward_ms.push_back(elapsed_ms(t0));
          saved_bytes = 4 * saved.p.size();
          forward_tensor_bytes = 4 * saved.output.size();
          t0 = std::chrono::steady_clock::now();
          grads = naive_backward_from_saved(in, saved, d_out, pool_);
        } else {
          const ForwardWithLse saved = flash_forward_for_backward(in, pool_);
          if (timed) forward_ms.push_back(elapsed_ms(t0));
          saved_bytes = 4 * saved.lse.size();
          forward_tensor_bytes = 4 * saved.output.size();
          t0 = std::chrono::steady_clock::now();
          grads = flash_backward(in, saved.output, saved.lse, d_out, request.tiles, pool_);
          // flash_backward counts the lse it reads with its D; the lse is the forward's, counted as saved.
          grads.bytes_allocated -= std::min(grads.bytes_allocated, saved_bytes);
          if (grads.ok && request.record_trace && rep + 1 == std::max(0, request.warmup) + reps) {
            BackwardTrace trace;
            (void)flash_backward(in, saved.output, saved.lse, d_out, request.tiles, pool_, &trace);
            trace.device = device_name();
            r.trace = std::move(trace);
          }
        }
        if (timed) backward_ms.push_back(elapsed_ms(t0));
        if (!grads.ok) {
          r.error = grads.error;
          return r;
        }
      }
      r.forward_timing = Timing::from_samples(forward_ms);
      r.backward_timing = Timing::from_samples(backward_ms);
      const uint64_t input_bytes = 4 * (in.q.size() + in.k.size() + in.v.size());
      r.forward_saved.tensors = input_bytes + forward_tensor_bytes;
      r.forward_saved.saved = saved_bytes;
      r.forward_backward = r.forward_saved;
      r.forward_backward.gradients = 4 * (d_out.size() + grads.dq.size() + grads.dk.size() + grads.dv.size());
      r.forward_backward.workspace = grads.bytes_allocated;
      if (request.want_gradients) {
        r.dq = std::move(grads.dq);
        r.dk = std::move(grads.dk);
        r.dv = std::move(grads.dv);
      }
    } catch (const std::bad_alloc&) {
      r.out_of_memory = true;
      r.bytes_needed = predicted.total();
      r.bytes_free = available_memory_bytes();
      r.error = "out of host memory during " + std::string(algorithm_name(request.algorithm)) + " training (needs about " +
                format_bytes(static_cast<double>(predicted.total())) + ")";
      return r;
    }
    r.ok = true;
    return r;
  }

  ScoreImage score_image(const ScoreImageRequest& request) override { return cpu_score_image(request, pool_.size()); }

  MemoryInfo memory() const override {
    MemoryInfo m;
    m.free_bytes = available_memory_bytes();
    m.known = m.free_bytes > 0;
    const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0) m.total_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
    return m;
  }

  // Beyond attention (issue 20): the CPU twins on this backend's pool (core/beyond_runs.hpp).
  SequenceRunResult run_linear_attention(const LinearAttentionRunRequest& request) override {
    std::lock_guard lock(run_mutex_);
    return cpu_run_linear_attention(request, pool_, device_name());
  }
  SequenceRunResult run_selective_scan(const SelectiveScanRunRequest& request) override {
    std::lock_guard lock(run_mutex_);
    return cpu_run_selective_scan(request, pool_, device_name());
  }
  RecurrentDecodeResult recurrent_decode(const RecurrentDecodeRequest& request) override {
    std::lock_guard lock(run_mutex_);
    return cpu_recurrent_decode(request, pool_, device_name());
  }
  // Not under run_mutex_: the attention part goes through run(), which takes it; the GEMMs between use the pool
  // from this (the worker's) thread only.
  LayerTimingResult time_layer(const LayerTimingRequest& request) override {
    return cpu_time_layer(request, *this, pool_);
  }

  DeviceCeilings measure_ceilings() override {
    std::lock_guard lock(run_mutex_);  // the benchmark uses the whole pool
    DeviceCeilings c = measure_cpu_ceilings(pool_);
    c.device = device_name();
    return c;
  }

  SpecLimits limits() const override { return SpecLimits{}; }

 private:
  ThreadPool pool_;
  std::mutex run_mutex_;
  std::string model_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

ScoreImage cpu_score_image(const ScoreImageRequest& req, int threads) {
  ScoreImage img;
  const auto t0 = std::chrono::steady_clock::now();
  if (!req.inputs) { img.error = "no inputs given"; return img; }
  const AttentionInputs& in = *req.inputs;
  const AttentionSpec& spec = in.spec;
  // The picture is pooled tile by tile: it never holds the score matrix, so its size limit does not apply.
  if (auto problems = validate(spec, {}, false); !problems.empty()) { img.error = problems.front(); return img; }
  if (req.batch < 0 || req.batch >= spec.batch || req.head < 0 || req.head >= spec.q_heads) {
    img.error = "batch " + std::to_string(req.batch) + " / head " + std::to_string(req.head) + " is outside the spec";
    return img;
  }
  img.q0 = std::clamp<int64_t>(req.q0, 0, spec.q_len);
  img.k0 = std::clamp<int64_t>(req.k0, 0, spec.kv_len);
  img.q1 = req.q1 < 0 ? spec.q_len : std::clamp<int64_t>(req.q1, img.q0, spec.q_len);
  img.k1 = req.k1 < 0 ? spec.kv_len : std::clamp<int64_t>(req.k1, img.k0, spec.kv_len);
  const int64_t wq = img.q1 - img.q0, wk = img.k1 - img.k0;
  if (wq <= 0 || wk <= 0 || req.cells_q <= 0 || req.cells_k <= 0) {
    img.error = "empty window or zero cells requested";
    return img;
  }
  img.rows = static_cast<int>(std::min<int64_t>(req.cells_q, wq));
  img.cols = static_cast<int>(std::min<int64_t>(req.cells_k, wk));
  const int rows = img.rows, cols = img.cols;
  img.values.assign(static_cast<size_t>(rows) * cols, std::numeric_limits<float>::quiet_NaN());
  img.allowed.assign(static_cast<size_t>(rows) * cols, 0.0f);

  const MaskView mask = spec.mask.view();
  const bool dense = spec.mask.is_dense();
  const int64_t d = spec.head_dim, kvh = spec.kv_head_of(req.head), offset = spec.kv_len - spec.q_len;
  const float scale = static_cast<float>(spec.softmax_scale());
  const bool want_p = req.kind == ScoreKind::Probabilities;
  // P needs each row's max and sum over every key; S only the window's keys.
  const int64_t j_begin = want_p ? 0 : img.k0, j_end = want_p ? spec.kv_len : img.k1, span = j_end - j_begin;
  constexpr int64_t kBlockRows = 32, kTile = 64;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // Key -> cell column, -1 outside the window.
  std::vector<int32_t> cell_of(static_cast<size_t>(span), -1);
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t j = img.k0 + wk * c / cols; j < img.k0 + wk * (c + 1) / cols; ++j)
      cell_of[static_cast<size_t>(j - j_begin)] = static_cast<int32_t>(c);
  std::vector<int64_t> masked_rows_per_cell_row(static_cast<size_t>(rows), 0);

  // Cell rows are independent: each task owns one cell row, so no two threads write one cell. Within it, S is
  // computed a block of query rows at a time with the float tile kernels; masked entries are -inf; tiles the
  // mask leaves empty are not computed and tiles it leaves full are not masked per element.
  ThreadPool pool(std::max(1, threads));
  // Kᵀ of the keys in use, once for the whole image (every cell row reads all of it): kt_all[c][j - j_begin].
  std::vector<float> kt_all(static_cast<size_t>(d * span));
  pool.parallel_for((span + kTile - 1) / kTile, [&](int64_t t, int) {
    const int64_t k0 = j_begin + t * kTile, n_keys = std::min(kTile, j_end - k0);
    transpose_rows(in.k_row(req.batch, kvh, k0), n_keys, d, span, kt_all.data() + (k0 - j_begin));
  });
  struct Buffers {
    std::vector<float> qs, s, acc;
    std::vector<int64_t> count;
    std::vector<uint8_t> allowed;  // one row of the mask over the window
  };
  std::vector<Buffers> buffers(static_cast<size_t>(pool.size()));
  pool.parallel_for(rows, [&](int64_t r, int worker) {
    Buffers& w = buffers[static_cast<size_t>(worker)];
    w.qs.resize(static_cast<size_t>(kBlockRows * d));
    w.s.resize(static_cast<size_t>(kBlockRows * span));
    w.acc.assign(static_cast<size_t>(cols), 0.0f);
    w.count.assign(static_cast<size_t>(cols), 0);
    w.allowed.resize(static_cast<size_t>(wk));
    const int64_t i_begin = img.q0 + wq * r / rows, i_end = img.q0 + wq * (r + 1) / rows;
    for (int64_t i0 = i_begin; i0 < i_end; i0 += kBlockRows) {
      const int64_t n_rows = std::min(kBlockRows, i_end - i0);
      load_scaled(in.q_row(req.batch, req.head, i0), n_rows, d, scale, w.qs.data());
      for (int64_t k0 = j_begin; k0 < j_end; k0 += kTile) {
        const int64_t n_keys = std::min(kTile, j_end - k0);
        float* s = w.s.data() + (k0 - j_begin);
        const TileKind kind = dense ? TileKind::Full
                                    : classify_region(mask, i0 + offset, i0 + n_rows + offset, k0, k0 + n_keys);
        if (kind == TileKind::Empty) {
          for (int64_t a = 0; a < n_rows; ++a) std::fill_n(s + a * span, n_keys, kNegInf);
          continue;
        }
        tile_scores(w.qs.data(), n_rows, kt_all.data() + (k0 - j_begin), span, n_keys, d, s, span);
        if (kind == TileKind::Partial)
          for (int64_t a = 0; a < n_rows; ++a) {
            uint8_t allowed[kTile];
            mask_row(mask, i0 + a + offset, k0, k0 + n_keys, allowed);
            for (int64_t j = 0; j < n_keys; ++j)
              if (!allowed[j]) s[a * span + j] = kNegInf;
          }
      }
      for (int64_t a = 0; a < n_rows; ++a) {
        float* s = w.s.data() + a * span;
        float row_max = kNegInf;
        for (int64_t j = 0; j < span; ++j) row_max = std::max(row_max, s[j]);
        if (row_max == kNegInf) {
          if (want_p) ++masked_rows_per_cell_row[static_cast<size_t>(r)];
          continue;
        }
        if (want_p) {
          // softmax over the whole row; the window's entries are then pooled as a mean per cell.
          exp_shifted(s, span, row_max);
          double sum = 0.0;
          for (int64_t j = 0; j < span; ++j) sum += s[j];
          const float inv = static_cast<float>(1.0 / sum);
          // Masked entries are exact zeros after the exp, so a cell's sum runs over its keys contiguously;
          // its count of allowed entries comes from the row of the mask.
          if (!dense) mask_row(mask, i0 + a + offset, img.k0, img.k1, w.allowed.data());
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t jb = img.k0 + wk * c / cols, je = img.k0 + wk * (c + 1) / cols;
            float cell_sum = 0.0f;
            for (int64_t j = jb; j < je; ++j) cell_sum += s[j];
            int64_t allowed_count = je - jb;
            if (!dense) {
              allowed_count = 0;
              for (int64_t j = jb; j < je; ++j) allowed_count += w.allowed[static_cast<size_t>(j - img.k0)];
            }
            w.acc[static_cast<size_t>(c)] += cell_sum * inv;
            w.count[static_cast<size_t>(c)] += allowed_count;
          }
        } else {
          for (int64_t j = 0; j < span; ++j) {
            if (s[j] == kNegInf) continue;
            const size_t c = static_cast<size_t>(cell_of[static_cast<size_t>(j)]);
            if (w.count[c] == 0 || std::fabs(s[j]) > std::fabs(w.acc[c])) w.acc[c] = s[j];
            ++w.count[c];
          }
        }
      }
    }
    for (int64_t c = 0; c < cols; ++c) {
      // Every allowed pair of the cell was counted once (rows of a fully masked P row contribute none, and allow none).
      const int64_t cell_pairs = (i_end - i_begin) * (wk * (c + 1) / cols - wk * c / cols);
      img.allowed[static_cast<size_t>(r) * cols + c] =
          static_cast<float>(static_cast<double>(w.count[static_cast<size_t>(c)]) / static_cast<double>(cell_pairs));
      if (w.count[static_cast<size_t>(c)] == 0) continue;
      img.values[static_cast<size_t>(r) * cols + c] =
          want_p ? w.acc[static_cast<size_t>(c)] / static_cast<float>(w.count[static_cast<size_t>(c)])
                 : w.acc[static_cast<size_t>(c)];
    }
  });

  bool any = false;
  for (float v : img.values) {
    if (std::isnan(v)) continue;
    if (!any) { img.min_value = img.max_value = v; any = true; }
    img.min_value = std::min(img.min_value, v);
    img.max_value = std::max(img.max_value, v);
  }
  for (auto m : masked_rows_per_cell_row) img.fully_masked_rows += m;
  img.elapsed_ms = elapsed_ms(t0);
  img.ok = true;
  return img;
}

}  // namespace attnscope
