// epilogue.cuh — the end of a decode CTA: the warps' (m, l, acc) states merged in shared memory, then O (one split)
// or the split's partials, then (grid merge) the splits of the CTA's heads merged by the split CTAs themselves.
// Internal to kernels/decode/.
#pragma once
#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {

// Where the end-of-CTA merge of the warps' states lives in shared memory (floats from the start; it reuses the
// pipeline's space): acc [warps][16][D + 8], (m, l) [warps][16], weights [warps][16], (M, L) [rows].
struct DecodeMergeLayout {
  int stride, acc, ml, weight, row, floats;
  __host__ __device__ constexpr DecodeMergeLayout(int d, int warps, int rows)
      : stride(d + 8), acc(0), ml(warps * 16 * (d + 8)), weight(ml + 2 * warps * 16), row(weight + warps * 16),
        floats(row + 2 * rows) {}
};

// Dynamic shared memory of decode_kernel: the K/V ring and Q, or the warps' merge, whichever is larger; tensor
// copies need the ring at a 1024-byte boundary (128-byte swizzle), so 1024 bytes more to align it.
__host__ __device__ constexpr int decode_shared_bytes(int d, int m_tiles, int warps, int stages, bool tensor_copies) {
  return ((stages * 2 * kBc * d * 2 + 16 * m_tiles * d * 2) > DecodeMergeLayout(d, warps, 16 * m_tiles).floats * 4
              ? (stages * 2 * kBc * d * 2 + 16 * m_tiles * d * 2)
              : DecodeMergeLayout(d, warps, 16 * m_tiles).floats * 4) +
         (tensor_copies ? 1024 : 0);
}

// Merges the splits of heads head0 .. head0 + heads_here − 1 of sequence b once every split's partials are visible:
// O = Σ_s acc_s 2^(m_s − M) / Σ_s l_s 2^(m_s − M), M = max_s m_s (an empty split, m_s = −inf, weighs 0). Thread
// (r, c) takes float4 column c of heads r, r + RH, ...; it loads 16 splits' acc and (m, l) at once (one round trip
// to L2 per 16 splits, no shared memory, no barrier) and folds them into a running (M, L, sum) as the online softmax
// does. Loads use ld.global.cg (L2): the partials were written by other SMs during this grid.
template <class T, int D, int THREADS>
__device__ __forceinline__ void merge_splits_in_cta(const DecodeArgs& a, int b, int head0, int heads_here) {
  constexpr int C4 = D / 4;            // float4 columns of a row
  constexpr int RH = THREADS / C4;     // heads merged side by side
  constexpr int U = 16;                // splits loaded together
  static_assert(THREADS % C4 == 0 && RH >= 1, "whole rows per thread group");
  const int r = threadIdx.x / C4, c = threadIdx.x % C4;
  const int splits = a.splits;
  const int64_t heads_total = static_cast<int64_t>(a.batch) * a.q_heads;
  for (int h = r; h < heads_here; h += RH) {
    const int64_t head = static_cast<int64_t>(b) * a.q_heads + head0 + h;
    const float4* acc = reinterpret_cast<const float4*>(a.partials) + head * splits * C4 + c;
    const float2* ml = reinterpret_cast<const float2*>(a.partials + heads_total * splits * D) + head * splits;
    float m_run = -INFINITY, l_run = 0.f;
    float4 sum = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int s0 = 0; s0 < splits; s0 += U) {
      float4 x[U];
      float2 y[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const bool here = s0 + u < splits;
        x[u] = here ? __ldcg(acc + static_cast<int64_t>(s0 + u) * C4) : make_float4(0.f, 0.f, 0.f, 0.f);
        y[u] = here ? __ldcg(ml + s0 + u) : make_float2(-INFINITY, 0.f);
      }
      float m_new = m_run;
#pragma unroll
      for (int u = 0; u < U; ++u) m_new = fmaxf(m_new, y[u].x);
      if (m_new == -INFINITY) continue;  // no token in these splits yet
      const float keep = exp2f(m_run - m_new);  // 0 while m_run = −inf
      l_run *= keep;
      sum.x *= keep;
      sum.y *= keep;
      sum.z *= keep;
      sum.w *= keep;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float w = y[u].x == -INFINITY ? 0.f : exp2f(y[u].x - m_new);
        l_run += y[u].y * w;
        sum.x += x[u].x * w;
        sum.y += x[u].y * w;
        sum.z += x[u].z * w;
        sum.w += x[u].w * w;
      }
      m_run = m_new;
    }
    const float inv = 1.f / l_run;  // l > 0: split 0 holds the sequence's first token
    T* out = static_cast<T*>(a.o) + head * D + 4 * c;
    out[0] = from_float<T>(sum.x * inv);
    out[1] = from_float<T>(sum.y * inv);
    out[2] = from_float<T>(sum.z * inv);
    out[3] = from_float<T>(sum.w * inv);
  }
}

// The CTA's end, after the mainloop. WARPS split as MT groups of W warps sharing an m-tile; each warp holds its
// (m, l, acc) of rows lane/4 and lane/4 + 8 of its m-tile (l not yet summed over the quad). Writes O (one split) or
// the split's partials; with the grid merge (every split CTA resident), waits for its siblings and merges its share
// of the heads. INSTR: stamps the timeline row (nullptr: none).
template <class T, int D, int MT, int WARPS, bool DYNAMIC, bool INSTR>
__device__ __forceinline__ void decode_epilogue(const DecodeArgs& a, unsigned char* smem_bytes, float (&acc)[D / 8][4],
                                                float (&m_row)[2], float (&l_row)[2], int split, int b, int group_y,
                                                int head0, int heads_here, int* counter, uint64_t* timeline_row) {
  constexpr int kThreads = WARPS * 32;
  constexpr int W = WARPS / MT;    // warps per m-tile
  constexpr int DT = D / 8;        // O tiles (8 columns)
  constexpr int QROWS = 16 * MT;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  auto stamp = [&](int field) {
    if constexpr (INSTR)
      if (timeline_row && tid == 0) timeline_row[field] = global_timer_ns();
  };
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l_row[r] += __shfl_xor_sync(0xffffffffu, l_row[r], 1);
    l_row[r] += __shfl_xor_sync(0xffffffffu, l_row[r], 2);
  }
  // The warps' states go to shared memory (DecodeMergeLayout): acc rows padded to D + 8 floats, so the float2 stores
  // of a warp (8 rows × 4 column pairs per half-warp) fall in 32 different banks.
  const DecodeMergeLayout lay(D, WARPS, QROWS);
  float* merge = reinterpret_cast<float*>(smem_bytes);
  float* acc_s = merge + lay.acc;          // [WARPS][16][D + 8]
  float2* ml_s = reinterpret_cast<float2*>(merge + lay.ml);  // [WARPS][16]: (m, l)
  float* weight_s = merge + lay.weight;    // [WARPS][16]: 2^(m_w − M) of the warp's row
  float2* row_s = reinterpret_cast<float2*>(merge + lay.row);  // [QROWS]: (M, L)
  const int row0 = lane >> 2, col0 = 2 * (lane & 3);
  if ((lane & 3) == 0) {
    ml_s[warp * 16 + row0] = make_float2(m_row[0], l_row[0]);
    ml_s[warp * 16 + row0 + 8] = make_float2(m_row[1], l_row[1]);
  }
  {
    float* mine = acc_s + warp * 16 * lay.stride;
#pragma unroll
    for (int dt = 0; dt < DT; ++dt) {
      *reinterpret_cast<float2*>(mine + row0 * lay.stride + dt * 8 + col0) = make_float2(acc[dt][0], acc[dt][1]);
      *reinterpret_cast<float2*>(mine + (row0 + 8) * lay.stride + dt * 8 + col0) = make_float2(acc[dt][2], acc[dt][3]);
    }
  }
  // Barrier: all warps' states are in shared memory.
  __syncthreads();
  // Per row (thread = row): M = max_w m_w, weights 2^(m_w − M), L = Σ_w l_w 2^(m_w − M) — once per row, not per element.
  if (tid < QROWS) {
    const int group = tid / 16, r16 = tid % 16;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < W; ++w) m = fmaxf(m, ml_s[(group * W + w) * 16 + r16].x);
    const float m_use = m == -INFINITY ? 0.f : m;
    float l = 0.f;
#pragma unroll
    for (int w = 0; w < W; ++w) {
      const float2 st = ml_s[(group * W + w) * 16 + r16];
      const float f = exp2f(st.x - m_use);  // 0 for a warp that saw no token (m_w = −inf)
      weight_s[(group * W + w) * 16 + r16] = f;
      l += st.y * f;
    }
    row_s[tid] = make_float2(m, l);
  }
  // Barrier: weights and (M, L) per row are published.
  __syncthreads();
  // O row (splits == 1) or the split's partial: acc = Σ_w acc_w 2^(m_w − M), one float4 column per thread step.
  constexpr int C4 = D / 4;
  for (int i = tid; i < QROWS * C4; i += kThreads) {
    const int row = i / C4, c4 = i % C4, group = row / 16, r16 = row % 16;
    if (row >= heads_here) continue;
    float4 sum = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int w = 0; w < W; ++w) {
      const int slot = (group * W + w) * 16 + r16;
      const float f = weight_s[slot];
      const float4 x = *reinterpret_cast<const float4*>(acc_s + slot * lay.stride + 4 * c4);
      sum.x += x.x * f;
      sum.y += x.y * f;
      sum.z += x.z * f;
      sum.w += x.w * f;
    }
    const float2 ml = row_s[row];
    const int64_t head = static_cast<int64_t>(b) * a.q_heads + head0 + row;
    if (a.splits == 1) {
      const float inv = 1.f / ml.y;  // l > 0: a sequence has >= 1 token
      T* out = static_cast<T*>(a.o) + head * D + 4 * c4;
      out[0] = from_float<T>(sum.x * inv);
      out[1] = from_float<T>(sum.y * inv);
      out[2] = from_float<T>(sum.z * inv);
      out[3] = from_float<T>(sum.w * inv);
    } else {
      const int64_t record = head * a.splits + split;
      if (c4 == 0)
        reinterpret_cast<float2*>(a.partials + static_cast<int64_t>(a.batch) * a.q_heads * a.splits * D)[record] = ml;
      reinterpret_cast<float4*>(a.partials)[record * C4 + c4] = sum;
    }
  }
  stamp(kTimelinePartials);
  if (a.splits > 1 && a.grid_merge) {
    // Every split CTA of (sequence, KV head × head block) is resident (cooperative launch), so each can wait for the
    // others: arrive once the CTA's partials are published, wait until all splits have arrived, then merge heads
    // [split·share, (split + 1)·share) of the group, share = ⌈heads / splits⌉. The counters return to zero: each CTA
    // departs after its wait, and the last to depart (every CTA has seen the full count) zeroes them. Ordering as
    // in a grid barrier: the barrier orders the CTA's partial stores before thread 0's fence and arrival (release);
    // thread 0's acquire load and fence, then the barrier, order the siblings' partials before the merge's loads.
    const int64_t groups = static_cast<int64_t>(gridDim.z) * gridDim.y;  // counters per region
    unsigned* arrive_count =
        reinterpret_cast<unsigned*>(a.tile_counters + groups + static_cast<int64_t>(b) * gridDim.y + group_y);
    unsigned* depart_count = arrive_count + groups;
    // Barrier: the CTA's partials are stored (and the state merge's shared memory is no longer read).
    __syncthreads();
    if (tid == 0) {
      __threadfence();
      atomicAdd(arrive_count, 1u);
      while (load_acquire_gpu(arrive_count) < static_cast<unsigned>(a.splits)) __nanosleep(32);
      __threadfence();
      if (atomicAdd(depart_count, 1u) == static_cast<unsigned>(a.splits) - 1) {
        *arrive_count = 0;  // every split has passed its wait: nobody reads the counters again in this launch
        *depart_count = 0;
        if (DYNAMIC) *counter = 0;  // every split has arrived, so every claim is done
      }
    }
    // Barrier: thread 0 has seen every split arrive; the CTA may read the siblings' partials.
    __syncthreads();
    stamp(kTimelineMergeBegin);
    const int share = (heads_here + a.splits - 1) / a.splits;
    const int first = split * share, count = min(share, heads_here - first);
    if (count > 0) merge_splits_in_cta<T, D, kThreads>(a, b, head0 + first, count);
  }
  stamp(kTimelineEnd);
}

}  // namespace attnscope::kernels::decode
