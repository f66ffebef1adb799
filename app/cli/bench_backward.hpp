// bench_backward.hpp — `attnscope bench --backward`: times the CUDA forward + backward pass (issue 19) of naive and
// flash over a grid of N and prints, per row, the forward and the backward time (median of CUDA-event timed
// repetitions), their ratio and the device memory a training step of this kind holds (kernels/backward_cuda.hpp).
#pragma once
#include <cstdint>
#include <vector>

#include "core/backend.hpp"
#include "core/spec.hpp"

namespace attnscope::app {

struct BackwardBenchConfig {
  std::vector<Algorithm> algorithms;  // naive and/or flash
  std::vector<int64_t> ns;            // q_len = kv_len = N
  AttentionSpec shape;                // batch, heads, head dim, dtype, mask (its lengths are replaced by N)
  int warmup = 1, repetitions = 5;
};

// Prints the table; 0 when every row ran, 1 otherwise (or when this build has no CUDA).
int run_backward_bench(const BackwardBenchConfig& config);

}  // namespace attnscope::app
