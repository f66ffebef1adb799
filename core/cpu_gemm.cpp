// cpu_gemm.cpp — see cpu_gemm.hpp.
#include "core/cpu_gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/tile_kernels.hpp"

namespace attnscope {
namespace {

GemmShape packed_strides(GemmShape s) {
  if (s.lda == 0) s.lda = s.k;
  if (s.ldb == 0) s.ldb = s.n;
  if (s.ldc == 0) s.ldc = s.n;
  return s;
}

}  // namespace

void cpu_gemm(const float* a, const float* b, float* c, const GemmShape& shape, ThreadPool& pool, bool accumulate) {
  const GemmShape s = packed_strides(shape);
  if (s.m <= 0 || s.n <= 0) return;
  const int64_t row_blocks = (s.m + kGemmRowBlock - 1) / kGemmRowBlock;
  const int64_t col_blocks = (s.n + kGemmColBlock - 1) / kGemmColBlock;
  struct Scratch {
    std::vector<float> panel, acc;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(pool.size()));
  pool.parallel_for(row_blocks * col_blocks, [&](int64_t task, int worker) {
    Scratch& w = scratch[static_cast<size_t>(worker)];
    // Column blocks of one row block are neighbours in task order: they share A's rows while those are cached.
    const int64_t i0 = task / col_blocks * kGemmRowBlock, j0 = task % col_blocks * kGemmColBlock;
    const int64_t rows = std::min(kGemmRowBlock, s.m - i0), cols = std::min(kGemmColBlock, s.n - j0);
    w.acc.resize(static_cast<size_t>(rows * cols));
    if (accumulate)
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(w.acc.data() + r * cols, c + (i0 + r) * s.ldc + j0, static_cast<size_t>(cols) * sizeof(float));
    else
      std::fill(w.acc.begin(), w.acc.end(), 0.0f);
    w.panel.resize(static_cast<size_t>(kGemmInnerBlock * cols));
    for (int64_t k0 = 0; k0 < s.k; k0 += kGemmInnerBlock) {
      const int64_t inner = std::min(kGemmInnerBlock, s.k - k0);
      for (int64_t k = 0; k < inner; ++k)
        std::memcpy(w.panel.data() + k * cols, b + (k0 + k) * s.ldb + j0, static_cast<size_t>(cols) * sizeof(float));
      // acc[r][c] += Σ_k A[i0 + r][k0 + k] · panel[k][c]
      tile_pv(a + i0 * s.lda + k0, rows, s.lda, w.panel.data(), inner, cols, w.acc.data());
    }
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(c + (i0 + r) * s.ldc + j0, w.acc.data() + r * cols, static_cast<size_t>(cols) * sizeof(float));
  });
}

void naive_gemm(const float* a, const float* b, float* c, const GemmShape& shape) {
  const GemmShape s = packed_strides(shape);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < s.k; ++k) sum += static_cast<double>(a[i * s.lda + k]) * b[k * s.ldb + j];
      c[i * s.ldc + j] = static_cast<float>(sum);
    }
}

}  // namespace attnscope
