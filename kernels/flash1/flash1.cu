// flash1.cu — FlashAttention-1's forward (see flash1.hpp), written to be read next to the paper's Algorithm 1.
//
// For Q tile i and K/V tile j (Br x Bc scores S = scale · Q_i K_jᵀ), with O_i, m_i, l_i read from device memory:
//   m̃ = rowmax(S),  P̃ = exp(S − m̃),  l̃ = rowsum(P̃),
//   m_new = max(m_i, m̃),  l_new = e^{m_i − m_new} l_i + e^{m̃ − m_new} l̃,
//   O_i ← (l_i e^{m_i − m_new} O_i + e^{m̃ − m_new} P̃ V_j) / l_new,
// then O_i, m_new, l_new are written back. O_i stays normalised after every pass; a row whose keys in tile j are all
// masked (m̃ = −inf) keeps its O_i, m_i, l_i. Before the first pass O = 0, m = −inf, l = 0 (set by pass 0, which
// reads nothing), so every output element is written even for rows that never see an allowed key.
//
// Thread layout as flash_fp32.cu (256 threads = 16 x 16): thread (ty, tx) owns rows ty·4 .. ty·4+3 of the Q tile,
// score columns tx + 16·c and output columns tx + 16·c; a row's 16 owners are 16 consecutive lanes of one warp.
#include "core/block_mask.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/flash1/flash1.hpp"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerThread = kFlash1Br / 16;  // 4
constexpr int kColsPerThread = kFlash1Bc / 16;  // 4

// Shared memory: Q tile [Br][D+1], K tile [Bc][D+1] (+1: a warp's 16 different K rows fall in 16 banks), V tile
// [Bc][D], P̃ tile [Br][Bc+1]; all fp32.
constexpr int shared_floats(int d) {
  return kFlash1Br * (d + 1) + kFlash1Bc * (d + 1) + kFlash1Bc * d + kFlash1Br * (kFlash1Bc + 1);
}

__device__ __forceinline__ float row_max16(float v) {
  for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float row_sum16(float v) {
  for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// T: storage type; kD: head_dim rounded up to 32, 64 or 128 (tiles zero-padded past the real head_dim); kTrace: the
// instrumented instantiation (the timed kernel carries no tracing code).
template <class T, int kD, bool kTrace>
__global__ void __launch_bounds__(kThreads) flash1_forward(Flash1Params p, Flash1TraceBuffers trace) {
  constexpr int kOutCols = kD / 16;
  extern __shared__ float smem[];
  float* Qs = smem;                          // [Br][kD+1]
  float* Ks = Qs + kFlash1Br * (kD + 1);     // [Bc][kD+1]
  float* Vs = Ks + kFlash1Bc * (kD + 1);     // [Bc][kD]
  float* Ps = Vs + kFlash1Bc * kD;           // [Br][Bc+1]

  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t bh = blockIdx.x, batch = bh / p.q_heads, head = bh % p.q_heads;
  const int64_t kv_head = head / (p.q_heads / p.kv_heads);
  const int64_t d = p.head_dim, shift = p.kv_len - p.q_len;  // query row r sits at position r + shift
  const int64_t tr = p.tr(), tc = p.tc();
  const T* q = static_cast<const T*>(p.q) + bh * p.q_len * d;
  const T* k = static_cast<const T*>(p.k) + (batch * p.kv_heads + kv_head) * p.kv_len * d;
  const T* v = static_cast<const T*>(p.v) + (batch * p.kv_heads + kv_head) * p.kv_len * d;
  T* o = static_cast<T*>(p.o) + bh * p.q_len * d;
  float* m_hbm = p.m + bh * p.q_len;
  float* l_hbm = p.l + bh * p.q_len;
  if (kTrace && tid == 0) trace.cta_sm[bh] = sm_id();

  for (int64_t j = 0; j < tc; ++j) {  // outer loop: K/V tiles, each loaded once
    const int64_t key0 = j * kFlash1Bc;
    // Barrier: the previous pass's last step has finished reading K_j, V_j, Q_i and P̃ before they are replaced.
    __syncthreads();
    for (int e = tid; e < kFlash1Bc * kD; e += kThreads) {
      const int r = e / kD, c = e % kD;
      const bool in = key0 + r < p.kv_len && c < d;
      Ks[r * (kD + 1) + c] = in ? to_float(k[(key0 + r) * d + c]) : 0.f;
      Vs[r * kD + c] = in ? to_float(v[(key0 + r) * d + c]) : 0.f;
    }

    for (int64_t i = 0; i < tr; ++i) {  // inner loop: every Q tile of the sequence
      const int64_t row0 = i * kFlash1Br;
      uint64_t t_start = 0;
      if (kTrace && tid == 0) t_start = global_timer_ns();
      // Barrier: the previous step's readers of Q_i and P̃ are done (for i = 0 the pass's barrier covers it).
      if (i > 0) __syncthreads();
      for (int e = tid; e < kFlash1Br * kD; e += kThreads) {
        const int r = e / kD, c = e % kD;
        Qs[r * (kD + 1) + c] = (row0 + r < p.q_len && c < d) ? to_float(q[(row0 + r) * d + c]) : 0.f;
      }
      // m_i and l_i of this thread's rows from device memory (pass 0: the initial −inf and 0, nothing read).
      float m_old[kRowsPerThread], l_old[kRowsPerThread];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int64_t row = row0 + ty * kRowsPerThread + r;
        const bool read = j > 0 && row < p.q_len;
        m_old[r] = read ? m_hbm[row] : -INFINITY;
        l_old[r] = read ? l_hbm[row] : 0.f;
      }
      // Barrier: K_j, V_j and Q_i are complete in shared memory.
      __syncthreads();

      const auto cls = static_cast<TileKind>(p.tile_classes[i * tc + j]);
      const bool per_element = cls != TileKind::Full || key0 + kFlash1Bc > p.kv_len;
      float s[kRowsPerThread][kColsPerThread];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
        for (int c = 0; c < kColsPerThread; ++c) s[r][c] = 0.f;
#pragma unroll 8
      for (int x = 0; x < kD; ++x) {
        float qv[kRowsPerThread], kv[kColsPerThread];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) qv[r] = Qs[(ty * kRowsPerThread + r) * (kD + 1) + x];
#pragma unroll
        for (int c = 0; c < kColsPerThread; ++c) kv[c] = Ks[(tx + 16 * c) * (kD + 1) + x];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
          for (int c = 0; c < kColsPerThread; ++c) s[r][c] = fmaf(qv[r], kv[c], s[r][c]);
      }

      // m̃, P̃ = exp(S − m̃) into shared memory, l̃ per row.
      float m_tile[kRowsPerThread], l_tile[kRowsPerThread];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int64_t q_pos = row0 + ty * kRowsPerThread + r + shift;
        float row_max = -INFINITY;
#pragma unroll
        for (int c = 0; c < kColsPerThread; ++c) {
          s[r][c] *= p.scale;
          if (per_element) {
            const int64_t key = key0 + tx + 16 * c;
            if (key >= p.kv_len || !p.mask.allowed(q_pos, key)) s[r][c] = -INFINITY;
          }
          row_max = fmaxf(row_max, s[r][c]);
        }
        m_tile[r] = row_max16(row_max);
        float sum = 0.f;
#pragma unroll
        for (int c = 0; c < kColsPerThread; ++c) {
          const float pij = m_tile[r] == -INFINITY ? 0.f : expf(s[r][c] - m_tile[r]);
          Ps[(ty * kRowsPerThread + r) * (kFlash1Bc + 1) + tx + 16 * c] = pij;
          sum += pij;
        }
        l_tile[r] = row_sum16(sum);
      }
      // Barrier: the whole P̃ tile is written before each thread multiplies its rows by V_j.
      __syncthreads();

#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int64_t row = row0 + ty * kRowsPerThread + r;
        // P̃ V_j for this thread's output columns.
        float pv[kOutCols];
#pragma unroll
        for (int c = 0; c < kOutCols; ++c) pv[c] = 0.f;
        const float* prow = Ps + (ty * kRowsPerThread + r) * (kFlash1Bc + 1);
#pragma unroll 4
        for (int x = 0; x < kFlash1Bc; ++x) {
          const float px = prow[x];
#pragma unroll
          for (int c = 0; c < kOutCols; ++c) pv[c] = fmaf(px, Vs[x * kD + tx + 16 * c], pv[c]);
        }
        // The update. All keys of the tile masked for this row: O_i, m_i, l_i unchanged.
        const bool skip = m_tile[r] == -INFINITY;
        const float m_new = skip ? m_old[r] : fmaxf(m_old[r], m_tile[r]);
        const float old_factor = skip || m_old[r] == -INFINITY ? 0.f : l_old[r] * expf(m_old[r] - m_new);
        const float tile_factor = skip ? 0.f : expf(m_tile[r] - m_new);
        const float l_new = skip ? l_old[r] : old_factor + tile_factor * l_tile[r];
        const float inv_l = l_new > 0.f ? 1.f / l_new : 0.f;
        float sq = 0.f;  // ‖O_i‖² over this thread's columns, for the probes
#pragma unroll
        for (int c = 0; c < kOutCols; ++c) {
          const int64_t col = tx + 16 * c;
          if (row < p.q_len && col < d) {
            const float o_old = j > 0 ? to_float(o[row * d + col]) : 0.f;
            const float o_new = skip ? o_old : (old_factor * o_old + tile_factor * pv[c]) * inv_l;
            const T stored = from_float<T>(o_new);
            o[row * d + col] = stored;
            const float kept = to_float(stored);
            sq += kept * kept;
          }
        }
        if (row < p.q_len && tx == 0) {
          m_hbm[row] = m_new;
          l_hbm[row] = l_new;
          if (j == tc - 1 && p.empty_rows && l_new == 0.f) atomicAdd(p.empty_rows, 1ull);
        }
        if constexpr (kTrace) {
          sq = row_sum16(sq);  // every lane takes part in the shuffle
          if (batch == 0 && head == 0 && tx == 0 && row < p.q_len)
            for (int slot = 0; slot < trace.probe_count; ++slot)
              if (trace.probe_rows[slot] == row) {
                const float rescale = (m_new == -INFINITY || m_old[r] == m_new) ? 1.f : expf(m_old[r] - m_new);
                float* state = trace.probe_state + (int64_t{slot} * tc + j) * 4;
                state[0] = m_new;
                state[1] = l_new;
                state[2] = rescale;
                state[3] = l_new * sqrtf(sq);
              }
        }
      }
      if constexpr (kTrace) {
        // Barrier (tracing only): the step ends when every thread has written its part of O_i, m_i, l_i.
        __syncthreads();
        if (tid == 0) {
          const int64_t at = (bh * tc + j) * tr + i;
          trace.step_start[at] = t_start;
          trace.step_end[at] = global_timer_ns();
        }
      }
    }
  }
}

template <class T, int kD, bool kTrace>
void launch_instance(const Flash1Params& p, cudaStream_t stream) {
  const int bytes = shared_floats(kD) * static_cast<int>(sizeof(float));
  auto kernel = flash1_forward<T, kD, kTrace>;
  // Above 48 KB a block gets dynamic shared memory only after raising the kernel's limit.
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  Flash1TraceBuffers trace = p.trace ? *p.trace : Flash1TraceBuffers{};
  kernel<<<static_cast<unsigned>(p.ctas()), kThreads, bytes, stream>>>(p, trace);
  CUDA_CHECK_LAUNCH("flash1_forward");
}

template <class T, bool kTrace>
void launch_for_head_dim(const Flash1Params& p, cudaStream_t stream) {
  if (p.head_dim <= 32) launch_instance<T, 32, kTrace>(p, stream);
  else if (p.head_dim <= 64) launch_instance<T, 64, kTrace>(p, stream);
  else launch_instance<T, 128, kTrace>(p, stream);
}

int shared_bytes(int64_t head_dim) {
  const int padded = head_dim <= 32 ? 32 : head_dim <= 64 ? 64 : 128;
  return shared_floats(padded) * static_cast<int>(sizeof(float));
}

}  // namespace

uint64_t flash1_trace_bytes(const Flash1Params& p, int probe_count) {
  const uint64_t ctas = static_cast<uint64_t>(p.ctas()), steps = static_cast<uint64_t>(p.tr() * p.tc());
  return ctas * sizeof(uint32_t) + 2 * ctas * steps * sizeof(uint64_t) +
         static_cast<uint64_t>(probe_count) * (sizeof(int32_t) + static_cast<uint64_t>(p.tc()) * 4 * sizeof(float));
}

uint64_t flash1_workspace_bytes(const AttentionSpec& spec) {
  return 8 * static_cast<uint64_t>(spec.batch * spec.q_heads * spec.q_len);
}

std::string validate(const Flash1Params& p) {
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1)
    return "flash1: every size must be >= 1";
  if (p.head_dim > kFlash1MaxHeadDim)
    return "flash1: head dim " + std::to_string(p.head_dim) + " exceeds " + std::to_string(kFlash1MaxHeadDim) +
           " (the K/V tile would not fit in shared memory); use naive";
  if (p.q_heads % p.kv_heads != 0) return "flash1: query heads must be a multiple of KV heads";
  if (p.q_len > p.kv_len) return "flash1: query length exceeds key length";
  if (p.ctas() > INT32_MAX) return "flash1: batch x heads must be below 2^31 (one CTA each)";
  if (!p.q || !p.k || !p.v || !p.o || !p.m || !p.l) return "flash1: a device buffer is missing";
  if (!p.tile_classes) return "flash1: no block mask (core build_block_mask with 64 x 64 tiles, on the device)";
  if (!(p.scale > 0.f)) return "flash1: the softmax scale must be positive";
  int device = 0, optin = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (shared_bytes(p.head_dim) > optin)
    return "flash1: needs " + std::to_string(shared_bytes(p.head_dim)) + " bytes of shared memory per block; this GPU "
           "allows " + std::to_string(optin);
  if (p.trace) {
    const auto& t = *p.trace;
    if (!t.cta_sm || !t.step_start || !t.step_end) return "flash1: a trace buffer is missing";
    if (t.probe_count < 0 || t.probe_count > kFlash1MaxProbes)
      return "flash1: at most " + std::to_string(kFlash1MaxProbes) + " probe rows";
    if (t.probe_count > 0 && (!t.probe_rows || !t.probe_state)) return "flash1: a probe buffer is missing";
  }
  return {};
}

void launch_flash1(const Flash1Params& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  const auto s = static_cast<cudaStream_t>(stream);
  dispatch_dtype(p.dtype, [&](auto storage) {
    using T = decltype(storage);
    if (p.trace) launch_for_head_dim<T, true>(p, s);
    else launch_for_head_dim<T, false>(p, s);
  });
}

}  // namespace attnscope::kernels
