// score_pool.cu — pooled S / P for the heatmap (see score_pool.hpp).
#include <cmath>

#include "kernels/common/cuda_util.cuh"
#include "kernels/score_pool/score_pool.hpp"

namespace attnscope::kernels {
namespace {

// S_ij = scale · q_i · k_j with q_i in shared memory.
__device__ __forceinline__ float score(const float* q_shared, const float* k_row, int64_t d, float scale) {
  float dot = 0.f;
  for (int64_t c = 0; c < d; ++c) dot = fmaf(q_shared[c], k_row[c], dot);
  return dot * scale;
}

// P needs each row's max m_i and normaliser l_i over ALL keys, not only the window's: one warp per query row,
// each lane an online (m, l) over its keys, merged across the warp.
__global__ void row_statistics(ScorePoolParams p) {
  const int lane = threadIdx.x % 32;
  const int64_t r = (int64_t{blockIdx.x} * blockDim.x + threadIdx.x) / 32;
  if (r >= p.q1 - p.q0) return;
  const int64_t row = p.q0 + r, q_pos = row + (p.kv_len - p.q_len);
  const float* q = p.q + row * p.head_dim;
  float m = -INFINITY, l = 0.f;
  for (int64_t j = lane; j < p.kv_len; j += 32) {
    if (!p.mask.allowed(q_pos, j)) continue;
    float dot = 0.f;
    for (int64_t c = 0; c < p.head_dim; ++c) dot = fmaf(q[c], p.k[j * p.head_dim + c], dot);
    const float s = dot * p.scale;
    const float m_new = fmaxf(m, s);
    l = l * expf(m - m_new) + expf(s - m_new);
    m = m_new;
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float m_other = __shfl_xor_sync(0xffffffffu, m, o), l_other = __shfl_xor_sync(0xffffffffu, l, o);
    const float m_new = fmaxf(m, m_other);
    l = (m == -INFINITY ? 0.f : l * expf(m - m_new)) + (m_other == -INFINITY ? 0.f : l_other * expf(m_other - m_new));
    m = m_new;
  }
  if (lane == 0) {
    p.row_max[r] = m;
    p.row_sum[r] = l;
  }
}

// One CTA per cell row; each thread owns cell columns c = tid, tid + blockDim, ... and walks the cell's entries
// in the CPU twin's order (rows outer, keys inner), so ties in |S| resolve to the same entry.
__global__ void pool_cells(ScorePoolParams p) {
  extern __shared__ float q_shared[];
  const int r = blockIdx.x;
  const int64_t wq = p.q1 - p.q0, wk = p.k1 - p.k0;
  const int64_t i_begin = p.q0 + wq * r / p.rows, i_end = p.q0 + wq * (r + 1) / p.rows;
  const int64_t shift = p.kv_len - p.q_len;
  // Per-thread accumulators live in registers only for one cell at a time, so walk cells outermost.
  for (int c = threadIdx.x; c < ((p.cols + blockDim.x - 1) / blockDim.x) * blockDim.x; c += blockDim.x) {
    const bool mine = c < p.cols;
    const int64_t j_begin = mine ? p.k0 + wk * c / p.cols : 0, j_end = mine ? p.k0 + wk * (c + 1) / p.cols : 0;
    float value = 0.f;
    int64_t count = 0;
    for (int64_t i = i_begin; i < i_end; ++i) {
      // Barrier: the previous row's q is no longer being read before it is replaced.
      __syncthreads();
      for (int64_t e = threadIdx.x; e < p.head_dim; e += blockDim.x) q_shared[e] = p.q[i * p.head_dim + e];
      // Barrier: q_i is complete before any thread uses it.
      __syncthreads();
      if (!mine) continue;
      const float m = p.probabilities ? p.row_max[i - p.q0] : 0.f;
      const float l = p.probabilities ? p.row_sum[i - p.q0] : 1.f;
      if (p.probabilities && m == -INFINITY) continue;  // fully masked row: contributes nothing
      for (int64_t j = j_begin; j < j_end; ++j) {
        if (!p.mask.allowed(i + shift, j)) continue;
        const float s = score(q_shared, p.k + j * p.head_dim, p.head_dim, p.scale);
        if (p.probabilities) value += expf(s - m) / l;
        else if (count == 0 || fabsf(s) > fabsf(value)) value = s;
        ++count;
      }
    }
    if (mine) p.cells[int64_t{r} * p.cols + c] = count == 0 ? NAN : (p.probabilities ? value / count : value);
    // As the CPU twin: every allowed pair was counted once (a fully masked P row allows none).
    if (mine && p.allowed)
      p.allowed[int64_t{r} * p.cols + c] = static_cast<float>(static_cast<double>(count) /
                                                              static_cast<double>((i_end - i_begin) * (j_end - j_begin)));
  }
}

}  // namespace

std::string validate(const ScorePoolParams& p) {
  if (!p.q || !p.k || !p.cells) return "score pooling: a device buffer is missing";
  if (p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1 || p.head_dim > 4096) return "score pooling: bad sizes";
  if (p.q0 < 0 || p.q1 > p.q_len || p.q0 >= p.q1 || p.k0 < 0 || p.k1 > p.kv_len || p.k0 >= p.k1)
    return "score pooling: the window is empty or outside the matrix";
  if (p.rows < 1 || p.cols < 1 || p.rows > p.q1 - p.q0 || p.cols > p.k1 - p.k0)
    return "score pooling: the cell grid must be 1 .. window size in each direction";
  if (p.rows > 65535 * 32) return "score pooling: too many cell rows";
  if (p.probabilities && (!p.row_max || !p.row_sum)) return "score pooling: P needs row statistics buffers";
  return {};
}

void launch_score_pool(const ScorePoolParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  auto s = static_cast<cudaStream_t>(stream);
  if (p.probabilities) {
    const int64_t rows = p.q1 - p.q0;
    row_statistics<<<static_cast<unsigned>((rows * 32 + 255) / 256), 256, 0, s>>>(p);
    CUDA_CHECK_LAUNCH("row_statistics");
  }
  const int threads = p.cols >= 256 ? 256 : ((p.cols + 31) / 32) * 32;
  pool_cells<<<p.rows, threads, static_cast<size_t>(p.head_dim) * sizeof(float), s>>>(p);
  CUDA_CHECK_LAUNCH("pool_cells");
}

}  // namespace attnscope::kernels
