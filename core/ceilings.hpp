// ceilings.hpp — the CPU's roofline ceilings, measured by a small benchmark (CpuBackend::measure_ceilings):
//   bandwidth  a large memcpy split across the pool's threads; bytes read + written per second
//   compute    a blocked float32 matmul C = A·B across the threads, built on the twins' register-blocked tile
//              kernel (tile_kernels.hpp) in 64×64 blocks as the twins use it, so the ceiling is what the CPU
//              twins' inner loop can reach; 2·n³ FLOPs
// Each is the fastest of several timed repetitions after a warm-up (a ceiling is the best the machine did; on a
// shared machine slower runs measure the other work). The product is checked against a double dot product on
// sampled entries, so a wrong kernel cannot report a fast ceiling.
#pragma once
#include <cstdint>

#include "core/backend.hpp"

namespace attnscope {

class ThreadPool;

struct CpuCeilingsConfig {
  uint64_t copy_bytes = uint64_t{128} << 20;  // far beyond any L3, so the copy measures DRAM
  int64_t gemm_n = 768;                         // 2·768³ ≈ 0.9 GFLOP per repetition
  int repetitions = 5;
};

DeviceCeilings measure_cpu_ceilings(ThreadPool& pool, const CpuCeilingsConfig& config = {});

// C[i][j] = Σ_k A[i][k]·B[k][j] for n×n row-major matrices, blocked and spread over the pool (the benchmark's
// kernel; exposed for its test).
void blocked_matmul(const float* a, const float* b, float* c, int64_t n, ThreadPool& pool);

}  // namespace attnscope
