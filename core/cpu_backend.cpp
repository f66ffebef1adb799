// cpu_backend.cpp — the CPU backend: runs the requested algorithm's CPU twin and measures it.
#include "core/cpu_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <fstream>
#include <mutex>
#include <new>
#include <thread>

#include "core/cost_model.hpp"
#include "core/cpu_twins.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Runs body(begin, end) over [0, count) split into contiguous chunks on `threads` threads.
template <class Body>
void parallel_for(int64_t count, int threads, Body body) {
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, count)));
  if (threads == 1) { body(0, count); return; }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { body(count * t / threads, count * (t + 1) / threads); });
  for (auto& th : pool) th.join();
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
    auto problems = validate(in.spec, limits());
    if (!problems.empty()) { r.error = problems.front(); return r; }
    if (in.q.size() != static_cast<size_t>(in.spec.q_elements()) ||
        in.k.size() != static_cast<size_t>(in.spec.kv_elements()) ||
        in.v.size() != static_cast<size_t>(in.spec.kv_elements())) {
      r.error = "input arrays do not match the spec " + in.spec.summary();
      return r;
    }
    std::string why;
    if (!supports(request.algorithm, in.spec, &why)) { r.error = why; return r; }
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
    if (request.want_output) r.output = std::move(output);
    r.ok = true;
    return r;
  }

  ScoreImage score_image(const ScoreImageRequest& request) override { return cpu_score_image(request, pool_.size()); }

  MemoryInfo memory() const override {
    MemoryInfo m;
    m.free_bytes = available_memory_bytes();
    m.known = m.free_bytes > 0;
    return m;
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
  if (auto problems = validate(spec); !problems.empty()) { img.error = problems.front(); return img; }
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

  const MaskView mask = spec.mask.view();
  const int64_t d = spec.head_dim, n = spec.kv_len, kvh = spec.kv_head_of(req.head);
  const double scale = spec.softmax_scale();
  const bool want_p = req.kind == ScoreKind::Probabilities;
  std::vector<int64_t> masked_rows_per_cell_row(static_cast<size_t>(rows), 0);

  // Cell rows are independent: each worker owns whole cell rows, so no two threads write one cell.
  parallel_for(rows, threads, [&](int64_t r_begin, int64_t r_end) {
    std::vector<double> s(static_cast<size_t>(n));
    std::vector<double> cell_acc(static_cast<size_t>(cols));
    std::vector<int64_t> cell_count(static_cast<size_t>(cols));
    for (int64_t r = r_begin; r < r_end; ++r) {
      const int64_t i_begin = img.q0 + wq * r / rows, i_end = img.q0 + wq * (r + 1) / rows;
      std::fill(cell_acc.begin(), cell_acc.end(), 0.0);
      std::fill(cell_count.begin(), cell_count.end(), 0);
      for (int64_t i = i_begin; i < i_end; ++i) {
        const float* q = in.q_row(req.batch, req.head, i);
        // P needs the whole row's max and sum; S only the window's keys.
        const int64_t j_begin = want_p ? 0 : img.k0, j_end = want_p ? n : img.k1;
        double row_max = -std::numeric_limits<double>::infinity();
        for (int64_t j = j_begin; j < j_end; ++j) {
          if (!spec.allowed(mask, i, j)) { s[j] = -std::numeric_limits<double>::infinity(); continue; }
          const float* k = in.k_row(req.batch, kvh, j);
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c) dot += static_cast<double>(q[c]) * k[c];
          s[j] = dot * scale;
          row_max = std::max(row_max, s[j]);
        }
        if (row_max == -std::numeric_limits<double>::infinity()) {
          if (want_p) ++masked_rows_per_cell_row[r];
          continue;
        }
        double sum = 1.0;
        if (want_p) {
          sum = 0.0;
          for (int64_t j = 0; j < n; ++j) sum += std::isinf(s[j]) ? 0.0 : std::exp(s[j] - row_max);
        }
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t jb = img.k0 + wk * c / cols, je = img.k0 + wk * (c + 1) / cols;
          for (int64_t j = jb; j < je; ++j) {
            if (std::isinf(s[j])) continue;
            if (want_p) {
              cell_acc[c] += std::exp(s[j] - row_max) / sum;
            } else if (cell_count[c] == 0 || std::fabs(s[j]) > std::fabs(cell_acc[c])) {
              cell_acc[c] = s[j];
            }
            ++cell_count[c];
          }
        }
      }
      for (int64_t c = 0; c < cols; ++c) {
        if (cell_count[c] == 0) continue;
        img.values[static_cast<size_t>(r) * cols + c] =
            static_cast<float>(want_p ? cell_acc[c] / static_cast<double>(cell_count[c]) : cell_acc[c]);
      }
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
