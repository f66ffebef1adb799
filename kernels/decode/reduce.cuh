// reduce.cuh — the split reduction kernel, for split plans whose grid is not merged in place (the grid does not fit
// one wave, or groups of 16 or fewer heads when the in-grid merge is not planned).
// Internal to kernels/decode/.
#pragma once
#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {

// Per (sequence, query head): O = Σ_s acc_s 2^(m_s − M) / Σ_s l_s 2^(m_s − M), M = max_s m_s; an empty split
// (m_s = −inf: a short sequence) weighs 0. Partials (DecodeArgs::partials): acc [heads][splits][D] — each split's row
// 16-byte aligned — then (m, l) [heads][splits].
//
// decode_reduce_kernel: one CTA of kReduceThreads per head, two rounds of independent loads. (m, l) of split s are
// read by thread s (M by a block maximum); the weights go to shared memory with L = Σ l_s w_s; then thread (r, c)
// sums float4 column c of splits r, r + R, r + 2R, ... (R = kReduceThreads·4/D splits side by side, the loads of
// an unrolled loop all in flight) and the R partial sums meet in shared memory. Launched as a programmatic
// dependent of the decode kernel: it waits here for the decode grid's partials.
constexpr int kReduceThreads = 128;

template <int THREADS>
__device__ __forceinline__ float block_reduce(float x, bool take_max, float* scratch) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float y = __shfl_xor_sync(0xffffffffu, x, o);
    x = take_max ? fmaxf(x, y) : x + y;
  }
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = x;
  __syncthreads();
  float r = scratch[0];
#pragma unroll
  for (int w = 1; w < THREADS / 32; ++w) r = take_max ? fmaxf(r, scratch[w]) : r + scratch[w];
  __syncthreads();  // scratch is reused by the next reduction
  return r;
}

// Shared memory of decode_reduce_kernel: one weight per split, rounded up to whole 16-byte words.
inline size_t reduce_shared_bytes(int splits) { return static_cast<size_t>((splits + 3) / 4 * 4) * sizeof(float); }

// INSTR: writes (begin, end) per head to `timeline` (the instrumented launch; else it is not read).
template <class T, int D, bool INSTR>
__global__ void __launch_bounds__(kReduceThreads) decode_reduce_kernel(const float* partials, int heads, int splits, T* o,
                                                                       int* tile_counters, int counters,
                                                                       uint64_t* timeline) {
  constexpr int C4 = D / 4;                   // float4 columns of a row
  constexpr int R = kReduceThreads / C4;      // splits summed side by side: 4 (D = 128) or 8 (D = 64)
  static_assert(D <= kReduceThreads && kReduceThreads % C4 == 0, "one thread per output column");
  extern __shared__ float split_weight[];     // [splits]
  __shared__ float scratch[kReduceThreads / 32];
  __shared__ float4 row_sums[R][C4];
  wait_for_prerequisite_grid();
  const int64_t head = blockIdx.x;
  const int tid = threadIdx.x;
  if constexpr (INSTR)
    if (timeline && tid == 0) timeline[2 * head] = global_timer_ns();  // diagnostics: (begin, end) per head  // diagnostics: (begin, end) per head
  if (blockIdx.x == 0)  // the decode grid has completed: its tile counters (the pool's claims) start from 0 again
    for (int i = tid; i < counters; i += kReduceThreads) tile_counters[i] = 0;
  const float4* acc = reinterpret_cast<const float4*>(partials + head * splits * D);
  const float2* ml = reinterpret_cast<const float2*>(partials + static_cast<int64_t>(heads) * splits * D) + head * splits;
  float m = -INFINITY;
  for (int s = tid; s < splits; s += kReduceThreads) m = fmaxf(m, ml[s].x);
  m = block_reduce<kReduceThreads>(m, true, scratch);  // finite: split 0 holds the sequence's first token
  float l = 0.f;
  for (int s = tid; s < splits; s += kReduceThreads) {
    const float2 v = ml[s];
    const float w = v.x == -INFINITY ? 0.f : exp2f(v.x - m);
    split_weight[s] = w;
    l += v.y * w;
  }
  l = block_reduce<kReduceThreads>(l, false, scratch);  // its barriers also publish split_weight
  const int r = tid / C4, c = tid % C4;
  float4 sum = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 8
  for (int s = r; s < splits; s += R) {
    const float4 a = acc[static_cast<int64_t>(s) * C4 + c];
    const float w = split_weight[s];
    sum.x += a.x * w;
    sum.y += a.y * w;
    sum.z += a.z * w;
    sum.w += a.w * w;
  }
  row_sums[r][c] = sum;
  __syncthreads();
  if (tid < D) {
    float total = 0.f;
#pragma unroll
    for (int i = 0; i < R; ++i) total += reinterpret_cast<const float*>(row_sums[i])[tid];
    o[head * D + tid] = from_float<T>(total / l);
  }
  if constexpr (INSTR)
    if (timeline && tid == 0) timeline[2 * head + 1] = global_timer_ns();
}

}  // namespace attnscope::kernels::decode
