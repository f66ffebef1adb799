// cpu_gemm.hpp — a threaded, cache-blocked float GEMM for the CPU backend: the projections and the MLP of a
// transformer block (core/beyond_runs.hpp times them beside attention).
//
//   C[m][n] (+)= Σ_k A[m][k] · B[k][n]      A: M x K (row stride lda), B: K x N (ldb), C: M x N (ldc), row-major
//
// Blocking: C is cut into kRowBlock x kColBlock blocks, one task each (dealt out by the pool). A task walks the
// inner dimension kInnerBlock at a time: B's kInnerBlock x kColBlock panel is packed contiguously (so the inner
// loop streams it from L1/L2) and acc += A_panel · B_panel runs in the twins' register-blocked kernel (tile_pv:
// 4 rows x 16 columns of accumulators). Each C element is summed in the same order whatever the thread count, so
// the result does not depend on the pool's size.
#pragma once
#include <cstdint>

#include "core/thread_pool.hpp"

namespace attnscope {

inline constexpr int64_t kGemmRowBlock = 64, kGemmColBlock = 128, kGemmInnerBlock = 256;

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;  // 0: packed (k, n, n)
};

// C = A·B, or C += A·B with accumulate. Sizes of zero do nothing (k = 0 zeroes C unless accumulating).
void cpu_gemm(const float* a, const float* b, float* c, const GemmShape& shape, ThreadPool& pool,
              bool accumulate = false);

// The same product by the textbook triple loop in double, rounded to float: what cpu_gemm is tested against.
void naive_gemm(const float* a, const float* b, float* c, const GemmShape& shape);

// 2·M·N·K.
inline double gemm_flops(int64_t m, int64_t n, int64_t k) {
  return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
}

}  // namespace attnscope
