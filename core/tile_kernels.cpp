// tile_kernels.cpp — see tile_kernels.hpp.
#include "core/tile_kernels.hpp"

namespace attnscope {

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define HOT_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT_KERNEL
#endif

// qs[r][c] = scale · Q[row0 + r][c]: the softmax scale is folded into Q once per tile.
HOT_KERNEL void load_scaled(const float* q, int64_t rows, int64_t d, float scale, float* qs) {
  for (int64_t e = 0; e < rows * d; ++e) qs[e] = q[e] * scale;
}

// kt[c][j] = K[j][c] for j < cols: keys become contiguous, so the score loop runs along them.
void transpose_rows(const float* k, int64_t cols, int64_t d, int64_t ld, float* kt) {
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t c = 0; c < d; ++c) kt[c * ld + j] = k[j * d + c];
}

// S[r][j] = Σ_c qs[r][c] · kt[c][j]. The innermost loop runs over keys with a broadcast query value, so it
// vectorises without reassociating a float sum; two rows share each load of kt.
HOT_KERNEL void tile_scores(const float* __restrict qs, int64_t rows, const float* __restrict kt, int64_t ld_kt, int64_t cols,
                 int64_t d, float* __restrict s, int64_t ld_s) {
  int64_t r = 0;
  for (; r + 1 < rows; r += 2) {
    float* __restrict s0 = s + r * ld_s;
    float* __restrict s1 = s0 + ld_s;
    const float* q0 = qs + r * d;
    const float* q1 = q0 + d;
    for (int64_t j = 0; j < cols; ++j) s0[j] = s1[j] = 0.0f;
    for (int64_t c = 0; c < d; ++c) {
      const float a0 = q0[c], a1 = q1[c];
      const float* __restrict kr = kt + c * ld_kt;
      for (int64_t j = 0; j < cols; ++j) {
        s0[j] += a0 * kr[j];
        s1[j] += a1 * kr[j];
      }
    }
  }
  for (; r < rows; ++r) {
    float* __restrict s0 = s + r * ld_s;
    const float* q0 = qs + r * d;
    for (int64_t j = 0; j < cols; ++j) s0[j] = 0.0f;
    for (int64_t c = 0; c < d; ++c) {
      const float a0 = q0[c];
      const float* __restrict kr = kt + c * ld_kt;
      for (int64_t j = 0; j < cols; ++j) s0[j] += a0 * kr[j];
    }
  }
}

// acc[r][c] += Σ_j p[r][j] · v[j][c]: the PV half of a tile. Two rows share each load of a V row.
HOT_KERNEL void tile_pv(const float* __restrict p, int64_t rows, int64_t ld_p, const float* __restrict v, int64_t cols,
                        int64_t d, float* __restrict acc) {
  int64_t r = 0;
  for (; r + 1 < rows; r += 2) {
    const float* p0 = p + r * ld_p;
    const float* p1 = p0 + ld_p;
    float* __restrict a0 = acc + r * d;
    float* __restrict a1 = a0 + d;
    for (int64_t j = 0; j < cols; ++j) {
      const float w0 = p0[j], w1 = p1[j];
      if (w0 == 0.0f && w1 == 0.0f) continue;  // masked for both rows
      const float* __restrict vr = v + j * d;
      for (int64_t c = 0; c < d; ++c) {
        a0[c] += w0 * vr[c];
        a1[c] += w1 * vr[c];
      }
    }
  }
  for (; r < rows; ++r) {
    const float* p0 = p + r * ld_p;
    float* __restrict a0 = acc + r * d;
    for (int64_t j = 0; j < cols; ++j) {
      const float w0 = p0[j];
      if (w0 == 0.0f) continue;
      const float* __restrict vr = v + j * d;
      for (int64_t c = 0; c < d; ++c) a0[c] += w0 * vr[c];
    }
  }
}

}  // namespace attnscope
