// args.cuh — the decode kernel's parameters as the device sees them (DecodeArgs, built once per launch by
// make_args from DecodeParams and the plan), the cache addressing, and the grid-level ordering helpers.
// Internal to kernels/decode/.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "kernels/common/bulk_copy.cuh"
#include "kernels/common/cuda_util.cuh"
#include "kernels/common/tensor_core.cuh"
#include "kernels/decode/decode.hpp"

namespace attnscope::kernels::decode {

// PTX helpers (cp.async, ldmatrix, mma.sync m16n8k16, pack2, swizzle): kernels/common/tensor_core.cuh.
using namespace ::attnscope::kernels::tc;

constexpr int kBc = kDecodeTileTokens;
constexpr float kLog2e = 1.4426950408889634f;

struct DecodeArgs {
  // Tensor copies (plan.tensor_copies): K and V as 3-D tensors of 16-bit elements, (d, row, plane), boxes of
  // 64 elements × R rows, 128-byte swizzle. Contiguous: row = position, plane = sequence · kv_heads + KV head, R = 64.
  // Paged: row = position in the page, plane = page · kv_heads + KV head, R = min(P, 64).
  CUtensorMap k_map, v_map;
  int32_t box_rows;                    // R
  int32_t batch, q_heads, kv_heads, group, heads_per_cta, head_blocks;
  int32_t splits, tiles_per_split;
  float scale_log2;                    // scale · log2(e): softmax in base 2
  const int32_t* seq_lens;
  const void* q;
  void* o;
  const void* k;
  const void* v;
  int64_t stride_sequence, stride_head, stride_row;  // element strides of K and V (decode_strides)
  int32_t page_shift, page_mask;       // paged: P = 1 << page_shift
  const int32_t* block_table;
  int32_t max_pages;
  float* partials;                     // acc [batch·q_heads][splits][D], then (m, l) [batch·q_heads][splits]
  int* tile_counters;                  // three regions of G = batch·kv_heads·head_blocks counters ([batch][kv_heads ×
                                       // head_blocks] each): tiles claimed (DYNAMIC), splits arrived, splits
                                       // departed (in-grid merge); zero before each launch (the last user resets them)
  int32_t grid_merge;                  // 1: every split CTA waits for its siblings, then merges its share of heads
  int32_t pool_static_tiles;           // DYNAMIC: < 0 every tile from the shared counter; >= 0 the tail pool
  int32_t probe;                       // DecodeProbe bits (read by the instrumented kernel only)
  uint64_t* timeline;                  // diagnostics (DecodeParams::timeline), read by the instrumented kernel only
};

// Element offset of row `pos` of (sequence b, KV head h), through the cache's strides.
template <bool PAGED>
__device__ __forceinline__ int64_t row_offset(const DecodeArgs& a, int b, int h, int pos) {
  if constexpr (PAGED) {
    const int64_t page = __ldg(a.block_table + static_cast<int64_t>(b) * a.max_pages + (pos >> a.page_shift));
    return page * a.stride_sequence + h * a.stride_head + (pos & a.page_mask) * a.stride_row;
  } else {
    return b * a.stride_sequence + h * a.stride_head + pos * a.stride_row;
  }
}

// Acquire load at GPU scope: what the releasing CTAs wrote before their counter update is visible after it.
__device__ __forceinline__ unsigned load_acquire_gpu(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Programmatic dependent launch (sm_90): the decode kernel lets the reduction grid be scheduled while it runs;
// the reduction waits for the decode grid to complete and its writes to be visible before reading partials.
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wait_for_prerequisite_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Host: the kernel's parameters for a plan (tensor maps included when the plan uses tensor copies).
DecodeArgs make_args(const DecodeParams& p, const DecodeLaunchPlan& plan);

}  // namespace attnscope::kernels::decode
