// load.cuh — the decode kernel's load stage: one K/V tile of Bc = 64 tokens into a stage of the shared-memory ring.
//
//   cp.async (load_tile_cp_async)   every thread issues 16-byte copies; thread i copies chunk i % CH of rows i / CH,
//                                   +8, +16, ...: consecutive threads read consecutive 16 bytes of a row, so a warp
//                                   reads two whole 256-byte rows (D = 128) per instruction. Rows past the
//                                   sequence's end are zero-filled. Layout: [Bc][D], 16-byte chunks XOR-swizzled.
//   bulk tensor (issue_tile_tma)    warp 0 starts the copy engine (sm_90, cp.async.bulk.tensor, 128-byte swizzle,
//                                   boxes of 64 columns: a tile is D/64 column halves of [64 rows][64 elements] for
//                                   K, then the same for V), completing on the stage's mbarrier. Per segment of
//                                   box_rows tokens (a paged tile spans 64 / P pages when P < 64: lane j takes
//                                   segment j, so the block-table loads of the pages go out side by side; segments
//                                   past the sequence's end are not read, their pages may not exist) and column
//                                   half, a box of K and one of V; lane 0 arrives on the stage's barrier expecting
//                                   the bytes of every box (the phase cannot complete before that arrival).
// Internal to kernels/decode/.
#pragma once
#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {

// Element offset of 16-byte chunk c (8 elements) of row r within a K or V tile of the ring.
template <int D, bool TMA>
__device__ __forceinline__ int kv_chunk(int r, int c) {
  if constexpr (TMA) return (c >> 3) * (kBc * 64) + r * 64 + (((c & 7) ^ (r & 7)) << 3);
  else return r * D + tc::swizzle(r, c) * 8;
}

template <class T, int D, int THREADS, bool PAGED>
__device__ __forceinline__ void load_tile_cp_async(const DecodeArgs& a, const T* k, const T* v, T* ks, T* vs, int b,
                                                   int kvh, int len, int tile) {
  constexpr int CH = D / 8;  // 16-byte chunks per row
  const int t0 = tile * kBc;
  for (int i = threadIdx.x; i < kBc * CH; i += THREADS) {
    const int r = i / CH, c = i % CH, pos = t0 + r;
    const bool valid = pos < len;
    const int64_t off = valid ? row_offset<PAGED>(a, b, kvh, pos) + c * 8 : 0;
    tc::cp_async_16(tc::smem_address(ks + r * D + tc::swizzle(r, c) * 8), k + off, valid);
    tc::cp_async_16(tc::smem_address(vs + r * D + tc::swizzle(r, c) * 8), v + off, valid);
  }
}

// Called by all of warp 0.
template <class T, int D, bool PAGED>
__device__ __forceinline__ void issue_tile_tma(const DecodeArgs& a, T* ks, T* vs, uint64_t* bar, int b, int kvh,
                                               int len, int tile, int lane) {
  const int t0 = tile * kBc;
  const int rows = PAGED ? a.box_rows : kBc;
  const int segments = min(kBc / rows, (len - t0 + rows - 1) / rows);
  if (lane == 0) bulk::mbarrier_arrive_expect_tx(bar, static_cast<uint32_t>(segments * rows * D * 2 * 2));
  if (const int j = lane; j < segments) {
    const int pos = t0 + j * rows;
    int y, z;
    if constexpr (PAGED) {
      const int page = __ldg(a.block_table + static_cast<int64_t>(b) * a.max_pages + (pos >> a.page_shift));
      y = pos & a.page_mask;
      z = page * a.kv_heads + kvh;
    } else {
      y = pos;
      z = b * a.kv_heads + kvh;
    }
#pragma unroll
    for (int h = 0; h < D / 64; ++h) {
      bulk::tensor_load_3d(ks + h * kBc * 64 + j * rows * 64, &a.k_map, h * 64, y, z, bar);
      bulk::tensor_load_3d(vs + h * kBc * 64 + j * rows * 64, &a.v_map, h * 64, y, z, bar);
    }
  }
}

// TMA: the tensor copies fill whole boxes; on the sequence's last tile, zero V's rows past the end before use (V's
// rows must be finite, since P = 0 there; K's are masked anyway).
template <class T, int D, int THREADS>
__device__ __forceinline__ void zero_tail_rows_tma(T* vs, int valid) {
  for (int i = threadIdx.x; i < (kBc - valid) * (D / 8); i += THREADS) {
    const int r = valid + i / (D / 8), c = i % (D / 8);
    *reinterpret_cast<uint4*>(vs + kv_chunk<D, true>(r, c)) = make_uint4(0, 0, 0, 0);
  }
  bulk::fence_proxy_async_shared();  // these stores are ordered before the copy engine refills the stage
}

}  // namespace attnscope::kernels::decode
