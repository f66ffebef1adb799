// bench_backward.hpp — `attnscope bench --backward`: times the CUDA forward + backward pass (issue 19) of naive and
// flash over a grid of N and prints, per row, the forward and the backward time (median of CUDA-event timed
// repetitions), their ratio and the device memory a training step of this kind holds (kernels/backward_cuda.hpp).
// With --json every row also goes to a JSON file (written atomically), out-of-memory and unsupported rows with
// their reason, for scripts/bench_sdpa.py's backward section.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/spec.hpp"

namespace attnscope::app {

struct BackwardBenchConfig {
  std::vector<Algorithm> algorithms;  // naive and/or flash
  std::vector<int64_t> ns;            // q_len = kv_len = N
  AttentionSpec shape;                // batch, heads, head dim, dtype, mask (its lengths are replaced by N)
  int warmup = 1, repetitions = 5;
  std::string json_path;              // empty: the table only
};

// The device bytes of one training step by what holds them (kernels/backward_cuda.hpp's BackwardDevicePlan).
struct BackwardMemoryStack {
  uint64_t inputs = 0;     // Q, K, V, O and dO
  uint64_t gradients = 0;  // dQ, dK, dV
  uint64_t saved = 0;      // what the forward keeps for the backward: naive P, flash lse
  uint64_t workspace = 0;  // naive S/dP/dS; flash D and the block mask
  uint64_t staging = 0;    // fp16/bf16: the transient fp32 buffer of uploads and downloads
  uint64_t total() const { return inputs + gradients + saved + workspace + staging; }
};

// One (algorithm, N) of the bench. ok: both passes ran and were timed. Otherwise `error` says why, and
// out_of_memory (the plan exceeds the device's free memory: bytes_needed against bytes_free) or unsupported
// (this algorithm has no backward kernel for this dtype / head dim) names the kind of failure.
struct BackwardBenchRow {
  Algorithm algorithm = Algorithm::Flash;
  int64_t n = 0;
  bool ok = false, out_of_memory = false, unsupported = false;
  std::string error, kernel;
  Timing forward, backward;
  BackwardMemoryStack memory;
  uint64_t bytes_needed = 0, bytes_free = 0;
};

// The JSON document of a bench: {"backend", "device", "config": {...}, "rows": [...]}; every row carries the
// algorithm, N, dtype, ok, the memory stack and saved bytes; timed rows the forward and backward median, min,
// max and samples (ms); failed rows the error with out_of_memory / unsupported and, out of memory, the bytes
// needed and free.
std::string backward_bench_json(const BackwardBenchConfig& config, const std::string& device,
                                const std::vector<BackwardBenchRow>& rows);

// Prints the table (and writes config.json_path); 0 when every row ran, 1 otherwise (or when this build has no
// CUDA, or the JSON could not be written; then no JSON file is left).
int run_backward_bench(const BackwardBenchConfig& config);

}  // namespace attnscope::app
