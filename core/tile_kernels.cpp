// tile_kernels.cpp — see tile_kernels.hpp.
#include "core/tile_kernels.hpp"

#include <cmath>
#include <cstring>

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

namespace {

// Register-blocked micro-kernels: a block of R rows x kCols (16) columns of the result is accumulated in
// 2·R eight-float vectors (GCC/Clang vector extensions: one AVX register each on the x86-64-v3 clone, a pair of
// SSE registers otherwise), so each step loads two vectors of y and broadcasts R scalars of x for 2·R
// multiply-adds, instead of loading and storing the result rows on every step.
constexpr int64_t kCols = 16;
typedef float Vec8 __attribute__((vector_size(32)));

// out[a][j] (+)= Σ_c x[a][c] · y[c][j] for a < R, j < kCols; x rows have stride ldx, y rows ldy, out ldo.
template <int R, bool kAccumulate>
inline __attribute__((always_inline)) void block_kernel(const float* __restrict x, int64_t ldx,
                                                        const float* __restrict y, int64_t ldy, int64_t inner,
                                                        float* __restrict out, int64_t ldo) {
  Vec8 acc[R][2];
  for (int a = 0; a < R; ++a)
    for (int h = 0; h < 2; ++h) {
      if (kAccumulate) std::memcpy(&acc[a][h], out + a * ldo + 8 * h, sizeof(Vec8));
      else acc[a][h] = Vec8{};
    }
  for (int64_t c = 0; c < inner; ++c) {
    Vec8 y0, y1;
    std::memcpy(&y0, y + c * ldy, sizeof(Vec8));
    std::memcpy(&y1, y + c * ldy + 8, sizeof(Vec8));
    for (int a = 0; a < R; ++a) {
      const float xa = x[a * ldx + c];
      acc[a][0] += xa * y0;
      acc[a][1] += xa * y1;
    }
  }
  for (int a = 0; a < R; ++a)
    for (int h = 0; h < 2; ++h) std::memcpy(out + a * ldo + 8 * h, &acc[a][h], sizeof(Vec8));
}

// The same for the last columns (fewer than kCols) of a tile.
template <bool kAccumulate>
inline __attribute__((always_inline)) void edge_kernel(const float* __restrict x, int64_t ldx, int64_t rows,
                                                       const float* __restrict y, int64_t ldy, int64_t inner,
                                                       int64_t cols, float* __restrict out, int64_t ldo) {
  for (int64_t a = 0; a < rows; ++a) {
    float* __restrict o = out + a * ldo;
    if (!kAccumulate)
      for (int64_t j = 0; j < cols; ++j) o[j] = 0.0f;
    for (int64_t c = 0; c < inner; ++c) {
      const float xa = x[a * ldx + c];
      const float* __restrict yr = y + c * ldy;
      for (int64_t j = 0; j < cols; ++j) o[j] += xa * yr[j];
    }
  }
}

// out (+)= x · y with x rows x inner (stride ldx), y inner x cols (stride ldy), out rows x cols (stride ldo).
template <bool kAccumulate>
// Always inlined, so the code is generated inside each target clone of the public kernels.
inline __attribute__((always_inline)) void small_gemm(const float* x, int64_t ldx, int64_t rows, const float* y,
                                                      int64_t ldy, int64_t inner, int64_t cols, float* out,
                                                      int64_t ldo) {
  const int64_t full_cols = cols / kCols * kCols;
  int64_t a = 0;
  for (; a + 4 <= rows; a += 4)
    for (int64_t j = 0; j < full_cols; j += kCols)
      block_kernel<4, kAccumulate>(x + a * ldx, ldx, y + j, ldy, inner, out + a * ldo + j, ldo);
  for (; a < rows; ++a)
    for (int64_t j = 0; j < full_cols; j += kCols)
      block_kernel<1, kAccumulate>(x + a * ldx, ldx, y + j, ldy, inner, out + a * ldo + j, ldo);
  if (full_cols < cols)
    edge_kernel<kAccumulate>(x, ldx, rows, y + full_cols, ldy, inner, cols - full_cols, out + full_cols, ldo);
}

}  // namespace

// S = Qs · Kt: rows x d times d x cols.
HOT_KERNEL void tile_scores(const float* qs, int64_t rows, const float* kt, int64_t ld_kt, int64_t cols, int64_t d,
                            float* s, int64_t ld_s) {
  small_gemm<false>(qs, d, rows, kt, ld_kt, d, cols, s, ld_s);
}

// acc += P · V: rows x cols times cols x d. Masked weights are exact zeros and cost a multiply like any other.
HOT_KERNEL void tile_pv(const float* p, int64_t rows, int64_t ld_p, const float* v, int64_t cols, int64_t d,
                        float* acc) {
  small_gemm<true>(p, ld_p, rows, v, d, cols, d, acc, d);
}

HOT_KERNEL void exp_shifted(float* x, int64_t n, float shift) {
  typedef int32_t IVec8 __attribute__((vector_size(32)));
  const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float kMagic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer kept in the low mantissa bits
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    Vec8 v;
    std::memcpy(&v, x + j, sizeof v);
    v = v - shift;
    const IVec8 underflow = v < -87.3f;
    v = v < -87.3f ? Vec8{} - 87.3f : v;  // keeps -inf out of the arithmetic; those lanes are zeroed below
    v = v > 88.3f ? Vec8{} + 88.3f : v;
    const Vec8 biased = v * kLog2e + kMagic;
    const Vec8 k = biased - kMagic;  // round(v · log2 e)
    IVec8 k_int;
    std::memcpy(&k_int, &biased, sizeof k_int);
    IVec8 magic_int;
    const Vec8 magic = Vec8{} + kMagic;
    std::memcpy(&magic_int, &magic, sizeof magic_int);
    k_int -= magic_int;
    const Vec8 r = v - k * kLn2Hi - k * kLn2Lo;  // |r| <= ln2 / 2
    Vec8 p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const IVec8 two_k = (k_int + 127) << 23;  // 2^k as float bits
    Vec8 scale;
    std::memcpy(&scale, &two_k, sizeof scale);
    Vec8 result = p * scale;
    IVec8 bits;
    std::memcpy(&bits, &result, sizeof bits);
    bits &= ~underflow;
    std::memcpy(x + j, &bits, sizeof bits);
  }
  for (; j < n; ++j) {
    const float v = x[j] - shift;
    x[j] = v < -87.3f ? 0.0f : std::exp(v);
  }
}

}  // namespace attnscope
