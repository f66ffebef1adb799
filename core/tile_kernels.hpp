// tile_kernels.hpp — the float32 inner loops shared by the CPU twins and the CPU score image: a Q tile scaled,
// a K tile transposed, S = Q Kᵀ for a tile and acc += P V for a tile. Written so the compiler vectorises them
// without reassociating float sums (the innermost loop runs along keys or along the head dimension with a
// broadcast factor); on x86-64 Linux an AVX2+FMA clone is selected at load time where the CPU has it.
#pragma once
#include <cstdint>

namespace attnscope {

// qs[r][c] = scale · q[r][c] for rows x d contiguous values.
void load_scaled(const float* q, int64_t rows, int64_t d, float scale, float* qs);
// kt[c][j] = k[j][c] for j < cols (k rows contiguous, d values each); kt has leading dimension ld.
void transpose_rows(const float* k, int64_t cols, int64_t d, int64_t ld, float* kt);
// s[r][j] = Σ_c qs[r][c] · kt[c][j] for r < rows, j < cols.
void tile_scores(const float* qs, int64_t rows, const float* kt, int64_t ld_kt, int64_t cols, int64_t d, float* s,
                 int64_t ld_s);
// acc[r][c] += Σ_j p[r][j] · v[j][c] for r < rows, c < d (v rows contiguous).
void tile_pv(const float* p, int64_t rows, int64_t ld_p, const float* v, int64_t cols, int64_t d, float* acc);

// x[j] = exp(x[j] - shift) for j < n, exactly 0 where x[j] - shift < -87.3 (so -inf, a masked score, gives 0).
// Cephes-style: n = round((x - shift)·log2 e), exp(r)·2^n with r reduced in two parts and a degree-6
// polynomial; relative error about 2 float ulps, vectorised 8 at a time.
void exp_shifted(float* x, int64_t n, float shift);

}  // namespace attnscope
