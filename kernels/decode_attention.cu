// decode_attention.cu — flash-decoding kernels (see decode_attention.hpp for the algorithm and layouts).
//
// Contents
//   decode kernel       per (split, KV head × head block, sequence): stream K/V tiles, S = QKᵀ, online softmax, PV
//   reduction kernel    merge the splits' (m, l, acc)
//   fill kernel         write random cache rows through the contiguous or paged addressing
//   validate / plan / launch
//   host entry points   run_decode_host, run_decode_request (Backend::run), run_decode_loop_cuda, copy bandwidth
#include "kernels/decode_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "core/rng.hpp"
#include "kernels/bulk_copy.cuh"
#include "kernels/cuda_util.cuh"
#include "kernels/tensor_core.cuh"
#include "kernels/tensor_map.hpp"

namespace attnscope::kernels {
namespace {

constexpr int kBc = kDecodeTileTokens;
constexpr float kLog2e = 1.4426950408889634f;

// PTX helpers (cp.async, ldmatrix, mma.sync m16n8k16, pack2, swizzle): kernels/tensor_core.cuh.
using namespace attnscope::kernels::tc;

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
  int64_t capacity;                    // contiguous rows per (sequence, KV head)
  int32_t page_shift, page_mask;       // paged: P = 1 << page_shift
  const int32_t* block_table;
  int32_t max_pages;
  float* partials;                     // acc [batch·q_heads][splits][D], then (m, l) [batch·q_heads][splits]
  int* tile_counters;                  // three regions of G = batch·kv_heads·head_blocks counters ([batch][kv_heads ×
                                       // head_blocks] each): tiles claimed (DYNAMIC), splits arrived (fused-reduce,
                                       // grid-merge), splits departed (grid-merge); zero before each launch (the
                                       // last user resets them)
  int32_t fused_reduce;                // 1: the last split CTA of a (sequence, KV head, head block) merges the splits
  int32_t grid_merge;                  // 1: every split CTA waits for its siblings, then merges its share of heads
  int32_t pool_static_tiles;           // DYNAMIC: < 0 every tile from the shared counter; >= 0 the tail pool (see claim)
  int32_t probe;                       // DecodeProbe bits (experiments; 0 in normal use)
  uint64_t* timeline;                  // diagnostics (DecodeParams::timeline), nullptr: off
};

// Acquire load at GPU scope: what the releasing CTAs wrote before their counter update is visible after it.
__device__ __forceinline__ unsigned load_acquire_gpu(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Element offset of row `pos` of (sequence b, KV head h).
template <bool PAGED>
__device__ __forceinline__ int64_t row_offset(const DecodeArgs& a, int b, int h, int pos, int d) {
  if constexpr (PAGED) {
    const int64_t page = __ldg(a.block_table + static_cast<int64_t>(b) * a.max_pages + (pos >> a.page_shift));
    return ((page * a.kv_heads + h) * (a.page_mask + 1) + (pos & a.page_mask)) * d;
  } else {
    return ((static_cast<int64_t>(b) * a.kv_heads + h) * a.capacity + pos) * d;
  }
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

// ---------------------------------------------------------------- in-grid merge (fused-reduce, grid-merge)
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

// ---------------------------------------------------------------- decode kernel
// T: __half or __nv_bfloat16. D: head_dim (64, 128). MT: 16-row m-tiles of query heads per CTA (1, 2, 4).
// WARPS (4 or 8) split as MT groups of W = WARPS/MT warps; the W warps of a group share an m-tile and split each
// K/V tile's 64 tokens between them (TW = 64/W each, at least one 16-token P tile), each keeping its own
// (m, l, acc); they merge at the end. STAGES: K/V tiles in the shared-memory ring (STAGES − 1 in flight).
// With 3 stages, 8 warps are capped at 128 registers so that two CTAs stay resident per SM; with more stages the
// ring fills most of the SM's shared memory, the CTA runs alone on its SM and keeps Q in registers.
// DYNAMIC: the splits of one (sequence, KV head, head block) take tiles one at a time from a shared counter instead
// of a fixed range, so a CTA that runs ahead takes more (the online softmax does not care about the order of tiles,
// and a split that takes none leaves m = −inf, weight 0). The reduction resets the counters for the next launch.
// TMA (sm_90, tensor copies): warp 0 starts each K/V tile with the copy engine (cp.async.bulk.tensor, 128-byte
// swizzle, boxes of 64 columns: a tile is D/64 column halves of [64 rows][64 elements] for K, then the same for V),
// completing on the stage's mbarrier, instead of 256 threads each issuing 16-byte cp.async; the warps wait on the
// barrier's phase. Rows past the sequence's end are zeroed in shared memory before use (V's rows must be finite,
// since P = 0 there; K's are masked anyway).
template <class T, int D, int MT, int WARPS, int STAGES, bool DYNAMIC, bool PAGED, bool TMA>
__global__ void __launch_bounds__(WARPS * 32, (WARPS == 8 && STAGES <= 3) ? 2 : 1)
    decode_kernel(const __grid_constant__ DecodeArgs a) {
  if constexpr (TMA) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ < 900
    __trap();  // the copy engine is sm_90+; the host plans tensor copies on compute capability 9.0+ only
    return;
#endif
  }
  constexpr int kThreads = WARPS * 32;
  constexpr int W = WARPS / MT;    // warps per m-tile
  static_assert(W >= 1 && W <= 4, "each warp needs a whole 16-token P tile");
  constexpr int TW = kBc / W;      // tokens of a tile per warp
  constexpr int NT = TW / 8;       // S tiles (8 tokens) per warp
  constexpr int KS = D / 16;       // k-steps over the head dimension
  constexpr int DT = D / 8;        // O tiles (8 columns)
  constexpr int CH = D / 8;        // 16-byte chunks per row
  constexpr int QROWS = 16 * MT;
  constexpr int kTileElements = kBc * D;  // one K (or V) tile
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  // Without TMA: Q [QROWS][D], then the ring: stages × {K [Bc][D], V [Bc][D]} (rows XOR-swizzled in 16-byte chunks).
  // With TMA: the ring first at a 1024-byte boundary, stages × {K [D/64][Bc][64], V [D/64][Bc][64]}, then Q.
  T* kv_s;
  T* q_s;
  if constexpr (TMA) {
    const uint32_t misalign = bulk::shared_address(smem_bytes) & 1023u;
    kv_s = reinterpret_cast<T*>(smem_bytes + ((1024u - misalign) & 1023u));
    q_s = kv_s + STAGES * 2 * kTileElements;
  } else {
    q_s = reinterpret_cast<T*>(smem_bytes);
    kv_s = q_s + QROWS * D;
  }
  // Element offset of 16-byte chunk c (8 elements) of row r within a K or V tile.
  auto kv_chunk = [](int r, int c) -> int {
    if constexpr (TMA) return (c >> 3) * (kBc * 64) + r * 64 + (((c & 7) ^ (r & 7)) << 3);
    else return r * D + swizzle(r, c) * 8;
  };
  __shared__ __align__(8) uint64_t tile_landed[TMA ? STAGES : 1];  // TMA: stage s's fills complete phases in turn
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int mt = warp / W, wsub = warp % W;
  const int split = blockIdx.x, group_y = blockIdx.y, b = blockIdx.z;  // (split, KV head × head block, sequence)
  const int kvh = group_y / a.head_blocks, hb = group_y % a.head_blocks;
  const int head0 = kvh * a.group + hb * a.heads_per_cta;     // first query head of this CTA
  const int heads_here = min(a.heads_per_cta, a.group - hb * a.heads_per_cta);
  const int len = a.seq_lens[b];
  const int tiles = (len + kBc - 1) / kBc;
  const int tile_begin = split * a.tiles_per_split;
  const int tile_end = min(tile_begin + a.tiles_per_split, tiles);
  // Experiments (DecodeProbe): start the CTA's own range at a position hashed from (sequence, split) and wrap, so
  // the CTAs do not all read the same offsets of their ranges at the same time.
  const int own_tiles = max(0, tile_end - tile_begin);
  const int rotation =
      (a.probe & kDecodeProbeRotate) && own_tiles > 0
          ? static_cast<int>(((static_cast<unsigned>(b) * gridDim.x + split) * 2654435761u >> 8) % own_tiles)
          : 0;
  // DYNAMIC: claimed[j % (STAGES + 1)] is the j-th tile this CTA streams. Thread 0 claims tile j during iteration
  // j − STAGES (after its barrier); the refill of iteration j − STAGES + 1 and the compute of iteration j read it
  // after later barriers, and the slot is rewritten only after both (it holds STAGES + 1 claims).
  constexpr int kClaimSlots = STAGES + 1;
  __shared__ int claimed[DYNAMIC ? kClaimSlots : 1];
  int* counter = DYNAMIC ? a.tile_counters + static_cast<int64_t>(b) * gridDim.y + group_y : nullptr;
  // The j-th tile this CTA streams (thread 0, DYNAMIC). pool_static_tiles < 0: the next tile of the sequence's
  // shared counter. Else the tail pool: the first `own` tiles of the split's range are this CTA's alone (no atomics);
  // the rest of every split's range forms the pool of the (sequence, KV head × head block), taken one tile per claim
  // from the shared counter: pool index i is split i % splits, position pool_static_tiles + i / splits of its range,
  // so the splits' tails are read side by side (as the static ranges are) while CTAs that run ahead take more.
  // A past-the-end claim returns INT_MAX; the counter only grows, so every later claim is past the end too.
  // Thread 0 starts the atomic of the next claim one iteration before it is needed (claim_ahead): with DRAM
  // saturated its round trip takes about a microsecond, which would otherwise stall the CTA at the next barrier.
  int pending_claim = 0;
  bool claim_pending = false;
  auto take = [&]() -> int {
    if (claim_pending) {
      claim_pending = false;
      return pending_claim;
    }
    return atomicAdd(counter, 1);
  };
  auto claim = [&](int j) -> int {
    if (a.pool_static_tiles < 0) return take();
    const int own = min(a.pool_static_tiles, own_tiles);
    if (j < own) return tile_begin + (j + rotation) % own;
    const int pool = a.splits * (a.tiles_per_split - a.pool_static_tiles);
    for (;;) {
      const int i = take();
      if (i >= pool) return INT_MAX;
      const int s = i % a.splits, t = s * a.tiles_per_split + a.pool_static_tiles + i / a.splits;
      if (t < min((s + 1) * a.tiles_per_split, tiles)) return t;  // else that split's range is shorter: next one
    }
  };
  auto claim_ahead = [&](int j) {  // the atomic for claim j, if claim j takes from a counter
    if (a.pool_static_tiles >= 0 && j < min(a.pool_static_tiles, own_tiles)) return;
    pending_claim = atomicAdd(counter, 1);
    claim_pending = true;
  };
  if constexpr (DYNAMIC || TMA) {
    if (tid == 0) {
      if constexpr (DYNAMIC) {
        for (int j = 0; j < STAGES; ++j) claimed[j] = claim(j);
        claim_ahead(STAGES);
      }
      if constexpr (TMA) {
        for (int st = 0; st < STAGES; ++st) bulk::mbarrier_init(&tile_landed[st], 1);
        bulk::fence_mbarrier_init();  // the barriers are visible to the copy engine
      }
    }
    // Barrier: the first claims and the barriers are ready.
    __syncthreads();
  }
  // The j-th tile this CTA streams, or −1 past its last (claims only grow, so all later ones are past too).
  auto tile_at = [&](int j) -> int {
    if constexpr (DYNAMIC) {
      const int t = claimed[j % kClaimSlots];
      return t < tiles ? t : -1;
    } else {
      if (a.probe & kDecodeProbeInterleave) {  // split s takes tiles s, s + splits, s + 2·splits, ...
        const int t = split + j * a.splits;
        return t < tiles ? t : -1;
      }
      return j < own_tiles ? tile_begin + (j + rotation) % own_tiles : -1;
    }
  };
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);
  // Diagnostics: thread 0 writes its CTA's timeline row (DecodeTimelineField) when a.timeline is set.
  uint64_t* timeline_row =
      a.timeline ? a.timeline + (static_cast<int64_t>(b * gridDim.y + group_y) * gridDim.x + split) *
                                    kDecodeTimelineFields
                 : nullptr;
  auto stamp = [&](int field) {
    if (timeline_row && tid == 0) timeline_row[field] = global_timer_ns();
  };
  stamp(kTimelineEntry);
  if (timeline_row && tid == 0) timeline_row[kTimelineSm] = sm_id();

  // Q rows of the CTA's heads (zeros for padding rows) into shared memory.
  allow_dependent_launch();  // the reduction (if any) may be scheduled now; it waits for this grid to finish

  const T* q = static_cast<const T*>(a.q) + (static_cast<int64_t>(b) * a.q_heads + head0) * D;
  for (int i = tid; i < QROWS * CH; i += kThreads) {
    const int r = i / CH, c = i % CH;
    cp_async_16(smem_address(q_s + r * D + swizzle(r, c) * 8), r < heads_here ? q + r * D + c * 8 : q,
                r < heads_here);
  }
  cp_async_commit();

  // One tile's K and V rows: thread i copies chunk i % CH of rows i / CH, +8, +16, ...: consecutive threads read
  // consecutive 16 bytes of a row, so a warp reads two whole 256-byte rows (D = 128) per instruction.
  auto load_tile = [&](int tile, int stage) {
    T* ks = kv_s + stage * 2 * kBc * D;
    T* vs = ks + kBc * D;
    const int t0 = tile * kBc;
    for (int i = tid; i < kBc * CH; i += kThreads) {
      const int r = i / CH, c = i % CH, pos = t0 + r;
      const bool valid = pos < len;
      const int64_t off = valid ? row_offset<PAGED>(a, b, kvh, pos, D) + c * 8 : 0;
      cp_async_16(smem_address(ks + r * D + swizzle(r, c) * 8), k + off, valid);
      cp_async_16(smem_address(vs + r * D + swizzle(r, c) * 8), v + off, valid);
    }
  };
  // TMA: warp 0 starts a tile's copies. Per segment of box_rows tokens (a paged tile spans 64 / P pages when
  // P < 64: lane j takes segment j, so the block-table loads of the pages go out side by side; segments past the
  // sequence's end are not read, their pages may not exist) and column half, a box of K and one of V; lane 0
  // arrives on the stage's barrier expecting the bytes of every box (the phase cannot complete before that arrival).
  auto issue_tile = [&](int tile, int stage) {
    T* ks = kv_s + stage * 2 * kTileElements;
    T* vs = ks + kTileElements;
    const int t0 = tile * kBc;
    const int rows = PAGED ? a.box_rows : kBc;
    const int segments = min(kBc / rows, (len - t0 + rows - 1) / rows);
    uint64_t* bar = &tile_landed[stage];
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
  };
  // Prologue: stages − 1 tiles in flight. Without TMA every iteration commits one group (possibly empty) so that
  // wait_group<STAGES − 2> always means "the tile about to be used has landed"; Q is cp.async group 0.
  if constexpr (TMA) {
    if (warp == 0)
      for (int s = 0; s < STAGES - 1; ++s)
        if (const int t = tile_at(s); t >= 0) issue_tile(t, s);
    cp_async_wait<0>();  // Q (visible to all after the first barrier), while the first tiles are on their way
  } else {
    for (int s = 0; s < STAGES - 1; ++s) {
      if (const int t = tile_at(s); t >= 0) load_tile(t, s);
      cp_async_commit();
    }
  }

  float m_row[2] = {-INFINITY, -INFINITY};  // rows lane/4 and lane/4 + 8 of the warp's m-tile (base-2 logits)
  float l_row[2] = {0.f, 0.f};              // this thread's share of l (summed over the quad at the end)
  float acc[DT][4];
#pragma unroll
  for (int i = 0; i < DT; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
  // Q's A fragments: kept in registers for the whole CTA with 4 warps; with 8 warps (128 registers) they are
  // re-read from shared memory at each k-step pair instead, which costs two ldmatrix per pair and no spills.
  constexpr bool kQInRegisters = WARPS == 4 || STAGES > 3;
  constexpr int QKS = kQInRegisters ? KS : 1;
  uint32_t qa[QKS][4];
  bool q_loaded = !kQInRegisters;
  auto load_q_fragment = [&](uint32_t(&frag)[4], int ks) {
    const int r = mt * 16 + (lane & 15), c = 2 * ks + (lane >> 4);
    ldmatrix_x4(frag, smem_address(q_s + r * D + swizzle(r, c) * 8));
  };

  for (int it = 0;; ++it) {
    if constexpr (TMA) {
      // The claim of iteration `it` was published by an earlier iteration's barrier (or the prologue's).
      if (const int t = tile_at(it); t >= 0) {
        bulk::mbarrier_wait(&tile_landed[it % STAGES], static_cast<uint32_t>((it / STAGES) & 1));
        if (const int valid = len - t * kBc; valid < kBc) {  // the sequence's last tile: zero V's rows past the end
          T* vs = kv_s + (it % STAGES) * 2 * kTileElements + kTileElements;
          for (int i = tid; i < (kBc - valid) * (D / 8); i += kThreads) {
            const int r = valid + i / (D / 8), c = i % (D / 8);
            *reinterpret_cast<uint4*>(vs + kv_chunk(r, c)) = make_uint4(0, 0, 0, 0);
          }
          bulk::fence_proxy_async_shared();  // these stores are ordered before the copy engine refills the stage
        }
      }
    } else {
      cp_async_wait<STAGES - 2>();
    }
    // Barrier: the tile `it` is visible to all warps, and every warp has finished with the stage refilled below.
    __syncthreads();
    const int tile = tile_at(it);  // the same for every thread of the CTA
    if (tile < 0) {
      if (timeline_row && tid == 0) timeline_row[kTimelineTiles] = it;
      break;
    }
    if (it == 0) stamp(kTimelineFirstTile);
    if (it < kDecodeTimelineTiles) stamp(kTimelineHeader + it);
    if constexpr (TMA) {
      if (warp == 0) {
        // The stage refilled here was last read by ldmatrix in the previous iteration, whose results the MMAs
        // consumed before the barrier: the reads are complete, so no proxy fence (which would also wait for this
        // thread's claim in flight) is needed. Generic stores into a stage (the zeroed rows) fence themselves.
        if (const int t = tile_at(it + STAGES - 1); t >= 0) issue_tile(t, (it + STAGES - 1) % STAGES);
      }
    } else {
      if (const int t = tile_at(it + STAGES - 1); t >= 0) load_tile(t, (it + STAGES - 1) % STAGES);
      cp_async_commit();
    }
    if constexpr (kQInRegisters) {
      if (!q_loaded) {  // Q landed with the first group: its A fragments stay in registers for the whole CTA
#pragma unroll
        for (int ks = 0; ks < QKS; ++ks) load_q_fragment(qa[ks], ks);
        q_loaded = true;
      }
    }
    const T* ks_tile = kv_s + (it % STAGES) * 2 * kTileElements;
    const T* vs_tile = ks_tile + kTileElements;

    if (a.probe & kDecodeProbeSkipMath) {  // experiments: the loads and barriers alone (the output is not valid)
      if constexpr (DYNAMIC) {
        if (tid == 0) {
          claimed[(it + STAGES) % kClaimSlots] = claim(it + STAGES);
          claim_ahead(it + STAGES + 1);
        }
      }
      continue;
    }
    // S = Q Kᵀ for the warp's TW tokens (fp32 accumulators).
    float s[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
    // k-steps outside, S tiles inside: the NT accumulators are independent, so NT MMAs are in flight at once.
#pragma unroll
    for (int ks = 0; ks < KS; ks += 2) {
      uint32_t kb[NT][4];  // B fragments of k-steps ks and ks + 1 (K rows are Kᵀ's columns: no transpose)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int r = wsub * TW + nt * 8 + (lane & 7);
        ldmatrix_x4(kb[nt], smem_address(ks_tile + kv_chunk(r, 2 * ks + (lane >> 3))));
      }
      if constexpr (kQInRegisters) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mma_16816<T>(s[nt], qa[ks], kb[nt][0], kb[nt][1]);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mma_16816<T>(s[nt], qa[ks + 1], kb[nt][2], kb[nt][3]);
      } else {
        uint32_t q0[4], q1[4];
        load_q_fragment(q0, ks);
        load_q_fragment(q1, ks + 1);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mma_16816<T>(s[nt], q0, kb[nt][0], kb[nt][1]);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mma_16816<T>(s[nt], q1, kb[nt][2], kb[nt][3]);
      }
    }
    // Online softmax in base 2: x = S·scale·log2 e; masked (past the end) = −inf.
    const int token0 = tile * kBc + wsub * TW + 2 * (lane & 3);
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int token = token0 + nt * 8 + (i & 1);
        s[nt][i] = token < len ? s[nt][i] * a.scale_log2 : -INFINITY;
        tile_max[i >> 1] = fmaxf(tile_max[i >> 1], s[nt][i]);
      }
    float rescale[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      // The 4 threads of a quad hold the same row: reduce the maximum over them.
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float m_new = fmaxf(m_row[r], tile_max[r]);
      const float m_use = m_new == -INFINITY ? 0.f : m_new;  // nothing allowed yet: keep exp2 finite
      rescale[r] = exp2f(m_row[r] - m_use);                   // 0 on the first allowed tile (m = −inf)
      m_row[r] = m_new;
      l_row[r] *= rescale[r];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        s[nt][2 * r] = exp2f(s[nt][2 * r] - m_use);
        s[nt][2 * r + 1] = exp2f(s[nt][2 * r + 1] - m_use);
        l_row[r] += s[nt][2 * r] + s[nt][2 * r + 1];
      }
    }
    // Once the running maximum has settled (most tiles after the first few), every factor is 1: the warp skips the
    // DT·4 multiplications (exact either way).
    if (__any_sync(0xffffffffu, rescale[0] != 1.f || rescale[1] != 1.f)) {
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        acc[dt][0] *= rescale[0];
        acc[dt][1] *= rescale[0];
        acc[dt][2] *= rescale[1];
        acc[dt][3] *= rescale[1];
      }
    }
    // O += P V: the accumulators of S tiles 2kk, 2kk+1 are exactly the A fragment of a 16×16 P tile.
#pragma unroll
    for (int kk = 0; kk < TW / 16; ++kk) {
      uint32_t pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                        pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
      const int r = wsub * TW + kk * 16 + (lane & 15);
#pragma unroll
      for (int dt = 0; dt < DT; dt += 2) {
        uint32_t vb[4];  // V rows are tokens (k): transpose while loading to get B's column layout
        ldmatrix_x4_trans(vb, smem_address(vs_tile + kv_chunk(r, dt + (lane >> 4))));
        mma_16816<T>(acc[dt], pa, vb[0], vb[1]);
        mma_16816<T>(acc[dt + 1], pa, vb[2], vb[3]);
      }
    }
    // The claim for iteration it + STAGES (read after the next barriers): at the end of the iteration, so the
    // atomic's round trip overlaps the MMAs still in flight and the wait for the next tile.
    if constexpr (DYNAMIC) {
      if (tid == 0) {
        claimed[(it + STAGES) % kClaimSlots] = claim(it + STAGES);
        claim_ahead(it + STAGES + 1);
      }
    }
  }
  cp_async_wait<0>();
  stamp(kTimelineLoopEnd);
  // Barrier: every warp is done with the pipeline's shared memory; it now holds the warps' states for the merge.
  __syncthreads();

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
  const int64_t groups = static_cast<int64_t>(gridDim.z) * gridDim.y;  // counters per region
  int* arrived = a.tile_counters + groups + static_cast<int64_t>(b) * gridDim.y + group_y;
  if (a.splits > 1 && a.grid_merge) {
    // Every split CTA of (sequence, KV head × head block) is resident (cooperative launch), so each can wait for the
    // others: arrive once the CTA's partials are published, wait until all splits have arrived, then merge heads
    // [split·share, (split + 1)·share) of the group, share = ⌈heads / splits⌉. The counters return to zero: each CTA
    // departs after its wait, and the last to depart (every CTA has seen the full count) zeroes them. Ordering as
    // in a grid barrier: the barrier orders the CTA's partial stores before thread 0's fence and arrival (release);
    // thread 0's acquire load and fence, then the barrier, order the siblings' partials before the merge's loads.
    unsigned* arrive_count = reinterpret_cast<unsigned*>(arrived);
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
  } else if (a.splits > 1 && a.fused_reduce) {
    // Last CTA reduces: each split publishes its partials (barrier, fence), then counts itself in; the one that
    // completes the count sees every split's partials (threadFenceReduction pattern) and merges them, then resets
    // the counter.
    __shared__ int merge_here;
    // Barrier: the CTA's partials are stored.
    __syncthreads();
    if (tid == 0) {
      __threadfence();
      const bool last = atomicAdd(arrived, 1) == a.splits - 1;
      if (last) {
        atomicExch(arrived, 0);  // every split has arrived: zero for the next launch
        __threadfence();
      }
      merge_here = last;
    }
    // Barrier: merge_here is published.
    __syncthreads();
    if (merge_here) {
      stamp(kTimelineMergeBegin);
      merge_splits_in_cta<T, D, kThreads>(a, b, head0, heads_here);
    }
  }
  stamp(kTimelineEnd);
}

// ---------------------------------------------------------------- reduction kernels
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
size_t reduce_shared_bytes(int splits) { return static_cast<size_t>((splits + 3) / 4 * 4) * sizeof(float); }

template <class T, int D>
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
  if (timeline && tid == 0) timeline[2 * head] = global_timer_ns();  // diagnostics: (begin, end) per head
  if (blockIdx.x == 0)  // the decode grid has completed: its tile counters (DYNAMIC) start from 0 again
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
  if (timeline && tid == 0) timeline[2 * head + 1] = global_timer_ns();
}

// decode_reduce_serial_kernel: the first version's algorithm (kept as DecodeVariant::Baseline for comparison): one
// CTA of D threads per head, every thread walks the splits twice, one load after another; launched after the decode
// kernel has finished.
template <class T, int D>
__global__ void __launch_bounds__(D) decode_reduce_serial_kernel(const float* partials, int heads, int splits, T* o) {
  const int64_t head = blockIdx.x;
  const float* acc = partials + head * splits * D;
  const float2* ml = reinterpret_cast<const float2*>(partials + static_cast<int64_t>(heads) * splits * D) + head * splits;
  float m = -INFINITY;
  for (int s = 0; s < splits; ++s) m = fmaxf(m, ml[s].x);
  float l = 0.f, sum = 0.f;
  for (int s = 0; s < splits; ++s) {
    const float2 v = ml[s];
    const float f = v.x == -INFINITY ? 0.f : exp2f(v.x - m);  // an empty split (short sequence) adds nothing
    l += v.y * f;
    sum += acc[static_cast<int64_t>(s) * D + threadIdx.x] * f;
  }
  o[head * D + threadIdx.x] = from_float<T>(sum / l);
}

// ---------------------------------------------------------------- fill kernel
// Writes rows [begin_pos, end_pos) of every (sequence, KV head) of K and V with values uniform in (−√3, √3)
// (unit variance) from a hash of (seed, sequence, head, position, column): the same token always gets the
// same values whichever layout holds it.
template <class T, bool PAGED>
__global__ void fill_rows_kernel(DecodeArgs a, int d, int begin_pos, int end_pos, uint64_t seed, T* k, T* v) {
  const int rows = end_pos - begin_pos;
  const int64_t total = static_cast<int64_t>(a.batch) * a.kv_heads * rows * d;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int c = static_cast<int>(i % d);
    const int64_t rest = i / d;
    const int pos = begin_pos + static_cast<int>(rest % rows);
    const int h = static_cast<int>((rest / rows) % a.kv_heads);
    const int b = static_cast<int>(rest / (int64_t{rows} * a.kv_heads));
    const uint64_t key = ((static_cast<uint64_t>(b) * a.kv_heads + h) << 32) ^ (static_cast<uint64_t>(pos) << 9) ^ c;
    const int64_t off = row_offset<PAGED>(a, b, h, pos, d) + c;
    k[off] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, key, 1)) - 0.5) * 3.4641016));
    v[off] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, key, 2)) - 0.5) * 3.4641016));
  }
}

__global__ void bump_lengths_kernel(int32_t* lens, int batch, int by) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < batch) lens[b] += by;
}

// ---------------------------------------------------------------- dispatch
// f(T{}, D, MT, WARPS, STAGES, DYNAMIC, PAGED, TMA) with compile-time constants. 8 warps exist for MT >= 2 only
// (W = WARPS/MT <= 4); the deep ring (kDecodeDeepStages) only with 8 warps; dynamic tiles with the deep ring or with
// 4 warps and the 3-stage ring (MT >= 2); tensor copies (TMA) with the deep ring only.
template <class F>
void dispatch_decode(DType dtype, int64_t d, int m_tiles, int warps, int stages, bool dynamic, bool paged, bool tma,
                     F&& f) {
  auto by_paged = [&](auto t, auto dd, auto mt, auto w, auto st, auto dyn) {
    if (paged) f(t, dd, mt, w, st, dyn, std::true_type{}, std::false_type{});
    else f(t, dd, mt, w, st, dyn, std::false_type{}, std::false_type{});
  };
  auto deep_by_paged = [&](auto t, auto dd, auto mt, auto w, auto st, auto dyn) {
    if (!tma) {
      by_paged(t, dd, mt, w, st, dyn);
      return;
    }
    constexpr std::integral_constant<int, kDecodeTmaStages> ring{};
    if (paged) f(t, dd, mt, w, ring, dyn, std::true_type{}, std::true_type{});
    else f(t, dd, mt, w, ring, dyn, std::false_type{}, std::true_type{});
  };
  auto by_warps = [&](auto t, auto dd, auto mt) {
    if constexpr (decltype(mt)::value >= 2) {
      if (warps == 8) {
        constexpr std::integral_constant<int, 8> w8{};
        constexpr std::integral_constant<int, kDecodeDeepStages> deep{};
        const bool deep_ring = stages == kDecodeDeepStages || tma;
        if (deep_ring && dynamic) deep_by_paged(t, dd, mt, w8, deep, std::true_type{});
        else if (deep_ring) deep_by_paged(t, dd, mt, w8, deep, std::false_type{});
        else by_paged(t, dd, mt, w8, std::integral_constant<int, kDecodeStages>{}, std::false_type{});
        return;
      }
    }
    if constexpr (decltype(mt)::value >= 2) {
      if (dynamic) {
        by_paged(t, dd, mt, std::integral_constant<int, 4>{}, std::integral_constant<int, kDecodeStages>{}, std::true_type{});
        return;
      }
    }
    by_paged(t, dd, mt, std::integral_constant<int, 4>{}, std::integral_constant<int, kDecodeStages>{}, std::false_type{});
  };
  auto by_mt = [&](auto t, auto dd) {
    if (m_tiles == 1) by_warps(t, dd, std::integral_constant<int, 1>{});
    else if (m_tiles == 2) by_warps(t, dd, std::integral_constant<int, 2>{});
    else by_warps(t, dd, std::integral_constant<int, 4>{});
  };
  auto by_d = [&](auto t) {
    if (d == 64) by_mt(t, std::integral_constant<int, 64>{});
    else by_mt(t, std::integral_constant<int, 128>{});
  };
  if (dtype == DType::BF16) by_d(__nv_bfloat16{});
  else by_d(__half{});
}

int shared_bytes_for(int64_t d, int m_tiles, int warps, int stages, bool tensor_copies) {
  return decode_shared_bytes(static_cast<int>(d), m_tiles, warps, stages, tensor_copies);
}

DecodeArgs make_args(const DecodeParams& p, const DecodeLaunchPlan& plan) {
  DecodeArgs a{};
  a.batch = static_cast<int32_t>(p.batch);
  a.q_heads = static_cast<int32_t>(p.q_heads);
  a.kv_heads = static_cast<int32_t>(p.kv_heads);
  a.group = static_cast<int32_t>(p.q_heads / p.kv_heads);
  a.heads_per_cta = plan.heads_per_cta;
  a.head_blocks = plan.head_blocks;
  a.splits = plan.splits;
  a.tiles_per_split = static_cast<int32_t>(plan.tiles_per_split);
  a.scale_log2 = p.scale * kLog2e;
  a.seq_lens = p.seq_lens;
  a.q = p.q;
  a.o = p.o;
  a.k = p.k;
  a.v = p.v;
  a.capacity = p.capacity;
  if (p.page_tokens > 0) {
    int shift = 0;
    while ((int64_t{1} << shift) < p.page_tokens) ++shift;
    a.page_shift = shift;
    a.page_mask = static_cast<int32_t>(p.page_tokens - 1);
  }
  a.block_table = p.block_table;
  a.max_pages = static_cast<int32_t>(p.max_pages);
  a.fused_reduce = plan.fused_reduce && plan.splits > 1 ? 1 : 0;
  a.grid_merge = plan.grid_merge && plan.splits > 1 ? 1 : 0;
  a.pool_static_tiles = plan.pool_static_tiles;
  a.probe = plan.probe;
  a.timeline = p.timeline;
  if (plan.tensor_copies) {  // DecodeArgs::k_map, v_map: 3-D views (d, row, plane) of the cache, 128-byte swizzle
    const uint64_t row_bytes = static_cast<uint64_t>(p.head_dim) * 2;
    const bool paged = p.page_tokens > 0;
    const uint64_t rows = paged ? static_cast<uint64_t>(p.page_tokens) : static_cast<uint64_t>(p.capacity);
    const uint64_t dims[3] = {static_cast<uint64_t>(p.head_dim), rows,
                              static_cast<uint64_t>((paged ? p.pool_pages : p.batch) * p.kv_heads)};
    a.box_rows = static_cast<int32_t>(std::min<int64_t>(paged ? p.page_tokens : kBc, kBc));
    a.k_map = make_tensor_map_3d_16bit(p.k, dims, row_bytes, rows * row_bytes, 64, a.box_rows, true);
    a.v_map = make_tensor_map_3d_16bit(p.v, dims, row_bytes, rows * row_bytes, 64, a.box_rows, true);
  }
  // Workspace (splits > 1): the tile counters, then the partials.
  if (p.partials) {
    a.tile_counters = reinterpret_cast<int*>(p.partials);
    a.partials = p.partials + decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks) / sizeof(float);
  }
  return a;
}

}  // namespace

// ---------------------------------------------------------------- validate / plan / launch
uint64_t decode_counter_bytes(int64_t batch, int64_t kv_heads, int64_t head_blocks) {
  return (static_cast<uint64_t>(batch * kv_heads * head_blocks) * 12 + 255) / 256 * 256;
}

uint64_t decode_timeline_words(const DecodeLaunchPlan& plan, int64_t batch, int64_t kv_heads, int64_t q_heads) {
  return static_cast<uint64_t>(plan.splits * kv_heads * plan.head_blocks * batch) * kDecodeTimelineFields +
         static_cast<uint64_t>(batch * q_heads) * 2;
}

std::string validate(const DecodeParams& p) {
  auto num = [](int64_t x) { return std::to_string(x); };
  if (p.dtype != DType::F16 && p.dtype != DType::BF16)
    return std::string("decode (CUDA) reads fp16 or bf16 caches on tensor cores, not ") + dtype_name(p.dtype) +
           ": choose --dtype fp16 or bf16";
  if (p.batch < 1 || p.batch > 65535) return "batch " + num(p.batch) + ": must be 1..65535";
  if (p.kv_heads < 1 || p.q_heads < 1) return "q_heads " + num(p.q_heads) + ", kv_heads " + num(p.kv_heads) + ": both must be >= 1";
  if (p.q_heads % p.kv_heads != 0)
    return "q_heads " + num(p.q_heads) + " is not a multiple of kv_heads " + num(p.kv_heads) +
           ": every KV head must serve the same number of query heads";
  if (p.head_dim != 64 && p.head_dim != 128)
    return "head_dim " + num(p.head_dim) + ": the decode kernel is built for head_dim 64 or 128";
  if (p.max_len < 1) return "cache length " + num(p.max_len) + ": decoding needs at least one cached token (append first)";
  if (p.max_len > (int64_t{1} << 30)) return "cache length " + num(p.max_len) + ": at most 2^30 tokens";
  const int64_t group = p.q_heads / p.kv_heads;
  const int64_t blocks = (group + kDecodeMaxHeadsPerCta - 1) / kDecodeMaxHeadsPerCta;
  if (p.kv_heads * blocks > 65535) return "kv_heads x head blocks " + num(p.kv_heads * blocks) + ": at most 65535";
  if (p.page_tokens != 0) {
    if (auto why = page_size_problem(p.page_tokens); !why.empty()) return why;
    if (!p.block_table) return "paged cache without a block table";
    if (p.max_pages * p.page_tokens < p.max_len)
      return "block table of " + num(p.max_pages) + " pages x " + num(p.page_tokens) + " tokens cannot hold length " +
             num(p.max_len);
    if (p.pool_pages < 1 || p.pool_pages > (int64_t{1} << 31) - 1) return "page pool of " + num(p.pool_pages) + " pages";
  } else if (p.capacity < p.max_len) {
    return "contiguous cache capacity " + num(p.capacity) + " is below the cache length " + num(p.max_len);
  }
  if (!p.q || !p.o || !p.k || !p.v || !p.seq_lens) return "a device buffer (q, o, k, v or seq_lens) is missing";
  for (const void* ptr : {p.q, static_cast<const void*>(p.o), p.k, p.v})
    if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0) return "q, o, k and v must be 16-byte aligned";
  return {};
}

std::string validate_shape(DecodeParams p) {
  const auto placeholder = reinterpret_cast<void*>(uintptr_t{256});  // non-null, 16-byte aligned
  p.q = p.k = p.v = p.o = placeholder;
  p.seq_lens = static_cast<const int32_t*>(placeholder);
  if (p.page_tokens != 0) p.block_table = static_cast<const int32_t*>(placeholder);
  return validate(p);
}

const char* decode_variant_name(DecodeVariant v) {
  switch (v) {
    case DecodeVariant::Auto: return "auto";
    case DecodeVariant::Baseline: return "baseline";
    case DecodeVariant::FastReduce: return "fast-reduce";
    case DecodeVariant::Warps8: return "warps8";
    case DecodeVariant::HeadBlocks16: return "head-blocks-16";
    case DecodeVariant::DeepPipeline: return "deep-pipeline";
    case DecodeVariant::DynamicTiles: return "dynamic-tiles";
    case DecodeVariant::DynamicTiles2Cta: return "dynamic-tiles-2cta";
    case DecodeVariant::FusedReduce: return "fused-reduce";
    case DecodeVariant::GridMerge: return "grid-merge";
    case DecodeVariant::Balanced: return "balanced";
    case DecodeVariant::BalancedTma: return "balanced-tma";
  }
  return "?";
}

int decode_probe_from_environment() {
  const char* text = std::getenv("ATTNSCOPE_DECODE_PROBE");
  if (!text || !*text) return 0;
  int bits = 0;
  std::string rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string word = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    if (word == "rotate") bits |= kDecodeProbeRotate;
    else if (word == "skip-math") bits |= kDecodeProbeSkipMath;
    else if (word == "interleave") bits |= kDecodeProbeInterleave;
    else throw std::invalid_argument("ATTNSCOPE_DECODE_PROBE='" + std::string(text) +
                                     "': a comma list of rotate, skip-math, interleave");
  }
  return bits;
}

int decode_pool_percent() {
  const char* text = std::getenv("ATTNSCOPE_DECODE_POOL_PERCENT");
  if (!text || !*text) return kDecodePoolPercent;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != 0 || v < 0 || v > 100)
    throw std::invalid_argument(std::string("ATTNSCOPE_DECODE_POOL_PERCENT='") + text + "': a whole percentage, 0..100");
  return static_cast<int>(v);
}

DecodeVariant decode_variant_from_environment() {
  const char* text = std::getenv("ATTNSCOPE_DECODE_VARIANT");
  if (!text || !*text) return DecodeVariant::Auto;
  for (DecodeVariant v : {DecodeVariant::Auto, DecodeVariant::Baseline, DecodeVariant::FastReduce,
                          DecodeVariant::Warps8, DecodeVariant::HeadBlocks16, DecodeVariant::DeepPipeline,
                          DecodeVariant::DynamicTiles, DecodeVariant::DynamicTiles2Cta, DecodeVariant::FusedReduce,
                          DecodeVariant::GridMerge, DecodeVariant::Balanced, DecodeVariant::BalancedTma})
    if (std::string(text) == decode_variant_name(v)) return v;
  throw std::invalid_argument(std::string("ATTNSCOPE_DECODE_VARIANT='") + text +
                              "': choose auto, baseline, fast-reduce, warps8, head-blocks-16, deep-pipeline, dynamic-tiles, dynamic-tiles-2cta, fused-reduce, grid-merge, balanced or balanced-tma");
}

DecodeLaunchPlan plan_decode(const DecodeParams& p, const DeviceInfo& device, int force_splits, DecodeVariant variant) {
  DecodeLaunchPlan plan;
  if (variant == DecodeVariant::Auto) variant = decode_variant_from_environment();
  const int64_t group = p.q_heads / std::max<int64_t>(1, p.kv_heads);
  if (variant == DecodeVariant::Auto)  // the measured best (docs/DECODE_NOTES.md); only groups > 16 differ
    variant = kDecodeAutoVariant;
  plan.variant = variant;
  const int64_t max_heads = variant == DecodeVariant::HeadBlocks16 ? 16 : kDecodeMaxHeadsPerCta;
  plan.heads_per_cta = static_cast<int>(std::min<int64_t>(group, max_heads));
  plan.head_blocks = static_cast<int>((group + plan.heads_per_cta - 1) / plan.heads_per_cta);
  plan.m_tiles = plan.heads_per_cta <= 16 ? 1 : plan.heads_per_cta <= 32 ? 2 : 4;
  const bool deep = variant == DecodeVariant::DeepPipeline || variant == DecodeVariant::DynamicTiles ||
                    variant == DecodeVariant::FusedReduce || variant == DecodeVariant::GridMerge ||
                    variant == DecodeVariant::Balanced || variant == DecodeVariant::BalancedTma;
  const bool pooled = variant == DecodeVariant::Balanced || variant == DecodeVariant::BalancedTma;
  const bool merge_in_grid = variant == DecodeVariant::GridMerge || pooled;
  const bool eight_warps = (variant == DecodeVariant::Warps8 || deep) && plan.m_tiles >= 2;
  plan.warps = eight_warps ? 8 : 4;
  plan.stages = eight_warps && deep ? kDecodeDeepStages : kDecodeStages;
  plan.fast_reduce = variant != DecodeVariant::Baseline;
  plan.fused_reduce = variant == DecodeVariant::FusedReduce;
  plan.tensor_copies = variant == DecodeVariant::BalancedTma && plan.stages == kDecodeDeepStages && device.cc_major >= 9;
  if (plan.tensor_copies) plan.stages = kDecodeTmaStages;
  plan.shared_bytes = shared_bytes_for(p.head_dim, plan.m_tiles, plan.warps, plan.stages, plan.tensor_copies);
  plan.sm_count = std::max(1, device.sm_count);
  int resident = 1;
  dispatch_decode(p.dtype, p.head_dim, plan.m_tiles, plan.warps, plan.stages, false, p.page_tokens > 0,
                  plan.tensor_copies, [&](auto t, auto d, auto mt, auto w, auto st, auto dyn, auto paged, auto tma) {
                    auto kernel = decode_kernel<decltype(t), decltype(d)::value, decltype(mt)::value, decltype(w)::value,
                                                decltype(st)::value, decltype(dyn)::value, decltype(paged)::value,
                                                decltype(tma)::value>;
                    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, plan.shared_bytes));
                    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, kernel, decltype(w)::value * 32,
                                                                             plan.shared_bytes));
                  });
  plan.ctas_per_sm = std::max(1, resident);
  const int64_t base = p.batch * p.kv_heads * plan.head_blocks;
  DecodeSplitPlan sp = plan_decode_splits(base, p.max_len, kBc, int64_t{plan.sm_count} * plan.ctas_per_sm);
  if (force_splits > 0) {
    const int64_t tiles = (p.max_len + kBc - 1) / kBc;
    sp.tiles_per_split = (tiles + force_splits - 1) / force_splits;
    sp.splits = static_cast<int>((tiles + sp.tiles_per_split - 1) / sp.tiles_per_split);
  }
  // grid-merge: every CTA must be resident at once (its CTAs wait for one another), so at most one wave.
  const int64_t slots = int64_t{plan.sm_count} * plan.ctas_per_sm;
  if (merge_in_grid && force_splits <= 0 && base * sp.splits > slots && slots / base >= 2) {
    const int64_t tiles = (p.max_len + kBc - 1) / kBc;
    const int64_t cap = std::min<int64_t>(slots / base, tiles);
    sp.tiles_per_split = (tiles + cap - 1) / cap;
    sp.splits = static_cast<int>((tiles + sp.tiles_per_split - 1) / sp.tiles_per_split);
    sp.wave_efficiency = static_cast<double>(base * sp.splits) / static_cast<double>(slots);
  }
  if (sp.splits > kDecodeMaxSplits)
    throw std::invalid_argument("decode split count " + std::to_string(sp.splits) + ": at most " +
                                std::to_string(kDecodeMaxSplits));
  plan.splits = sp.splits;
  plan.tiles_per_split = sp.tiles_per_split;
  plan.wave_efficiency = sp.wave_efficiency;
  plan.grid_merge = merge_in_grid && plan.splits > 1 && base * plan.splits <= slots;
  plan.probe = decode_probe_from_environment();
  plan.dynamic_tiles = plan.m_tiles >= 2 && plan.splits > 1 &&
                       (variant == DecodeVariant::DynamicTiles || variant == DecodeVariant::DynamicTiles2Cta ||
                        pooled);
  if (plan.dynamic_tiles && pooled)  // the tail pool: the last share of each range
    plan.pool_static_tiles = static_cast<int>(plan.tiles_per_split * (100 - decode_pool_percent()) / 100);
  plan.workspace_bytes =
      plan.splits > 1 ? decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks) +
                            static_cast<uint64_t>(p.batch * p.q_heads * plan.splits * (2 + p.head_dim)) * 4
                      : 0;
  return plan;
}

void launch_decode(const DecodeParams& p, const DecodeLaunchPlan& plan, void* stream_ptr) {
  if (auto why = validate(p); !why.empty()) throw std::invalid_argument(why);
  if (plan.splits > 1 && !p.partials) throw std::invalid_argument("split decode without a partials workspace");
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  const DecodeArgs args = make_args(p, plan);
  const dim3 grid(plan.splits, static_cast<unsigned>(p.kv_heads * plan.head_blocks), static_cast<unsigned>(p.batch));
  dispatch_decode(p.dtype, p.head_dim, plan.m_tiles, plan.warps, plan.stages, plan.dynamic_tiles, p.page_tokens > 0,
                  plan.tensor_copies, [&](auto t, auto d, auto mt, auto w, auto st, auto dyn, auto paged, auto tma) {
    using T = decltype(t);
    constexpr int D = decltype(d)::value;
    auto kernel = decode_kernel<T, D, decltype(mt)::value, decltype(w)::value, decltype(st)::value,
                                decltype(dyn)::value, decltype(paged)::value, decltype(tma)::value>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, plan.shared_bytes));
    if (plan.grid_merge && plan.splits > 1) {
      // Cooperative: the driver starts the grid only with every CTA resident at once (else an error, no hang);
      // the CTAs of a (sequence, KV head × head block) wait for one another before merging.
      cudaLaunchConfig_t config{};
      config.gridDim = grid;
      config.blockDim = dim3(decltype(w)::value * 32);
      config.dynamicSmemBytes = static_cast<size_t>(plan.shared_bytes);
      config.stream = stream;
      cudaLaunchAttribute attribute[1];
      attribute[0].id = cudaLaunchAttributeCooperative;
      attribute[0].val.cooperative = 1;
      config.attrs = attribute;
      config.numAttrs = 1;
      CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, args));
      CUDA_CHECK_LAUNCH("decode_kernel (grid-merge)");
      return;
    }
    kernel<<<grid, decltype(w)::value * 32, plan.shared_bytes, stream>>>(args);
    CUDA_CHECK_LAUNCH("decode_kernel");
    if (plan.splits <= 1 || plan.fused_reduce) return;  // fused: the last split CTA has merged
    const unsigned heads = static_cast<unsigned>(p.batch * p.q_heads);
    if (!plan.fast_reduce) {
      decode_reduce_serial_kernel<T, D><<<heads, D, 0, stream>>>(args.partials, static_cast<int>(heads), plan.splits,
                                                                 static_cast<T*>(p.o));
      CUDA_CHECK_LAUNCH("decode_reduce_serial_kernel");
      return;
    }
    // A programmatic dependent launch: scheduled while the decode grid runs, so the launch gap is hidden.
    cudaLaunchConfig_t config{};
    config.gridDim = dim3(heads);
    config.blockDim = dim3(kReduceThreads);
    config.dynamicSmemBytes = reduce_shared_bytes(plan.splits);
    config.stream = stream;
    cudaLaunchAttribute attribute[1];
    attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute[0].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = attribute;
    config.numAttrs = 1;
    CUDA_CHECK(cudaLaunchKernelEx(&config, decode_reduce_kernel<T, D>, static_cast<const float*>(args.partials),
                                  static_cast<int>(heads), plan.splits, static_cast<T*>(p.o), args.tile_counters,
                                  static_cast<int>(p.batch * p.kv_heads * plan.head_blocks),
                                  p.timeline ? p.timeline + static_cast<uint64_t>(grid.x * grid.y * grid.z) *
                                                                kDecodeTimelineFields
                                             : nullptr));
    CUDA_CHECK_LAUNCH("decode_reduce_kernel");
  });
}

namespace {

void fill_rows(const DecodeParams& p, int begin_pos, int end_pos, uint64_t seed, cudaStream_t stream) {
  if (end_pos <= begin_pos) return;
  DecodeLaunchPlan unused;
  DecodeArgs a = make_args(p, unused);
  const int64_t total = p.batch * p.kv_heads * (end_pos - begin_pos) * p.head_dim;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 65535));
  auto go = [&](auto t) {
    using T = decltype(t);
    T* k = static_cast<T*>(const_cast<void*>(p.k));
    T* v = static_cast<T*>(const_cast<void*>(p.v));
    if (p.page_tokens > 0)
      fill_rows_kernel<T, true><<<blocks, 256, 0, stream>>>(a, static_cast<int>(p.head_dim), begin_pos, end_pos, seed, k, v);
    else
      fill_rows_kernel<T, false><<<blocks, 256, 0, stream>>>(a, static_cast<int>(p.head_dim), begin_pos, end_pos, seed, k, v);
  };
  if (p.dtype == DType::BF16) go(__nv_bfloat16{});
  else go(__half{});
  CUDA_CHECK_LAUNCH("fill_rows_kernel");
}

// Streams `count` 16-byte words through L2 and keeps nothing: after it, L2 holds clean lines of this buffer only.
__global__ void l2_flush_read_kernel(const uint4* data, int64_t count, unsigned* sink) {
  unsigned x = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const uint4 w = __ldcg(data + i);
    x ^= w.x ^ w.y ^ w.z ^ w.w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);  // depends on the data (all zeros: never taken), so the loads stay
}

// How decodes are timed (ATTNSCOPE_DECODE_TIMING): "device" (default) or "launch".
//   device  before each timed decode, l2_flush_read_kernel reads a buffer of 4x the L2 size; the decode starts with
//           none of the cache in L2 and no dirty lines to write back, and the GPU is still busy with the flush while
//           the host enqueues the decode, so the start event fires when the GPU reaches the decode: the interval is
//           the decode's own GPU time (its kernels and the gap between them).
//   launch  the first version: each decode between two events on an idle GPU; the interval also holds the host's
//           launch latency (the start event fires at once, the kernel arrives a few microseconds later).
bool decode_timing_includes_launch() {
  const char* text = std::getenv("ATTNSCOPE_DECODE_TIMING");
  if (!text || !*text || std::string(text) == "device") return false;
  if (std::string(text) == "launch") return true;
  throw std::invalid_argument(std::string("ATTNSCOPE_DECODE_TIMING='") + text + "': choose device or launch");
}

uint64_t decode_flush_bytes(const DeviceInfo& device) {
  return std::max<uint64_t>(uint64_t{64} << 20, uint64_t{4} * static_cast<uint64_t>(std::max(0, device.l2_bytes)));
}

// Milliseconds per decode (`warmup` untimed first), as decode_timing_includes_launch() says.
template <class F>
std::vector<double> time_decodes(cudaStream_t stream, DeviceBuffer& flush, unsigned* sink, int sm_count, int warmup,
                                 int repetitions, F&& launch) {
  if (decode_timing_includes_launch()) return EventTimer().time(stream, warmup, repetitions, launch);
  for (int i = 0; i < warmup; ++i) launch();
  EventPair events;
  std::vector<double> samples;
  const int64_t words = static_cast<int64_t>(flush.bytes() / sizeof(uint4));
  for (int i = 0; i < std::max(1, repetitions); ++i) {
    l2_flush_read_kernel<<<static_cast<unsigned>(4 * std::max(1, sm_count)), 512, 0, stream>>>(flush.get<uint4>(), words, sink);
    CUDA_CHECK_LAUNCH("l2_flush_read_kernel");
    CUDA_CHECK(cudaEventRecord(events.start, stream));
    launch();
    CUDA_CHECK(cudaEventRecord(events.stop, stream));
    CUDA_CHECK(cudaEventSynchronize(events.stop));
    samples.push_back(events.elapsed_ms());
  }
  return samples;
}

// Reads `count` 16-byte words of each of two buffers, 8 independent loads per thread in flight (streaming: evict
// first), and keeps nothing: the read-only reference for the decode's bandwidth.
__global__ void __launch_bounds__(256) stream_read_kernel(const uint4* a, const uint4* b, int64_t count, unsigned* sink) {
  constexpr int kUnroll = 8;
  unsigned x = 0;
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t base = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; base < 2 * count; base += kUnroll * stride) {
    uint4 w[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + u * stride;
      w[u] = i < count ? __ldcs(a + i) : i < 2 * count ? __ldcs(b + (i - count)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) x ^= w[u].x ^ w[u].y ^ w[u].z ^ w[u].w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);  // depends on the data, so the loads stay
}

// Experiments (ATTNSCOPE_DECODE_READ=chunks,CTAS,THREADS[,rotate][,cg]): the read-only reference read as the decode
// reads, CTA c streaming its own contiguous 1/CTAS of each buffer, a and b side by side (4 loads of each in flight
// per thread); `rotate` starts each CTA at a hashed offset of its chunk and wraps; `cg` loads through L2 with the
// normal policy instead of streaming (evict-first).
__global__ void stream_read_chunks_kernel(const uint4* a, const uint4* b, int64_t count, int mode, unsigned* sink) {
  const bool rotate = mode & 1, cached = mode & 2;
  unsigned x = 0;
  const int64_t per = (count + gridDim.x - 1) / gridDim.x;
  const int64_t begin = blockIdx.x * per, end = min(count, begin + per), n = max(int64_t{0}, end - begin);
  const int64_t shift = rotate && n > 0 ? static_cast<int64_t>((blockIdx.x * 2654435761u >> 8) % (n / 1024 + 1)) * 1024 % n : 0;
  for (int64_t j = threadIdx.x; j < n; j += 4 * int64_t{blockDim.x}) {
    uint4 w[8];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int64_t jj = j + u * int64_t{blockDim.x};
      const int64_t i = begin + (jj + shift) % max(n, int64_t{1});
      w[u] = jj < n ? (cached ? __ldcg(a + i) : __ldcs(a + i)) : make_uint4(0, 0, 0, 0);
      w[4 + u] = jj < n ? (cached ? __ldcg(b + i) : __ldcs(b + i)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < 8; ++u) x ^= w[u].x ^ w[u].y ^ w[u].z ^ w[u].w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);
}

// Experiments (ATTNSCOPE_DECODE_READ=ring,CTAS,THREADS,STAGES,TILE_KB): the read-only reference read through a
// shared-memory ring as the decode kernel reads (skip-math without the rest): CTA c streams its own contiguous
// 1/CTAS of a and of b in tiles of TILE_KB from each, thread 0 starting bulk copies that complete on the stage's
// mbarrier, STAGES − 1 tiles in flight, a CTA barrier per tile.
__global__ void stream_read_ring_kernel(const uint4* a, const uint4* b, int64_t count, int stages, int tile_words,
                                        unsigned* sink) {
  extern __shared__ __align__(128) uint4 ring[];  // stages × {a tile, b tile}
  __shared__ __align__(8) uint64_t landed[16];
  const int64_t per = (count + gridDim.x - 1) / gridDim.x;
  const int64_t begin = blockIdx.x * per, end = min(count, begin + per);
  const int tiles = static_cast<int>((max(int64_t{0}, end - begin) + tile_words - 1) / tile_words);
  auto issue = [&](int t) {
    if (t >= tiles) return;
    const int st = t % stages;
    const int64_t w0 = begin + int64_t{t} * tile_words;
    const uint32_t bytes = static_cast<uint32_t>(min(int64_t{tile_words}, end - w0) * 16);
    bulk::mbarrier_arrive_expect_tx(&landed[st], 2 * bytes);
    bulk::bulk_load(ring + st * 2 * tile_words, a + w0, bytes, &landed[st]);
    bulk::bulk_load(ring + st * 2 * tile_words + tile_words, b + w0, bytes, &landed[st]);
  };
  if (threadIdx.x == 0) {
    for (int st = 0; st < stages; ++st) bulk::mbarrier_init(&landed[st], 1);
    bulk::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int t = 0; t < stages - 1; ++t) issue(t);
  unsigned x = 0;
  for (int t = 0; t < tiles; ++t) {
    bulk::mbarrier_wait(&landed[t % stages], static_cast<uint32_t>((t / stages) & 1));
    const uint4 w = ring[(t % stages) * 2 * tile_words + threadIdx.x % tile_words];
    x ^= w.x ^ w.w;
    __syncthreads();
    if (threadIdx.x == 0) {
      bulk::fence_proxy_async_shared();
      issue(t + stages - 1);
    }
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);
}

// ATTNSCOPE_DECODE_TIMELINE=file (diagnostics): one more decode of the loop's last step is launched with the
// timeline on, L2 flushed first, and its rows are appended to the file as CSV (times in ns from the earliest entry).
void append_decode_timeline(const std::string& path, const std::string& label, const DecodeLaunchPlan& plan,
                            int64_t batch, int64_t kv_heads, int64_t q_heads, const std::vector<uint64_t>& words) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw std::invalid_argument("ATTNSCOPE_DECODE_TIMELINE: cannot open '" + path + "' for appending");
  const int64_t ctas = static_cast<int64_t>(plan.splits) * kv_heads * plan.head_blocks * batch;
  uint64_t t0 = ~uint64_t{0};
  for (int64_t c = 0; c < ctas; ++c) t0 = std::min(t0, words[static_cast<size_t>(c * kDecodeTimelineFields + kTimelineEntry)]);
  auto rel = [&](uint64_t t) { return t == 0 ? int64_t{-1} : static_cast<int64_t>(t - t0); };
  std::fprintf(f, "# %s variant=%s splits=%d warps=%d stages=%d grid_merge=%d\n", label.c_str(),
               decode_variant_name(plan.variant), plan.splits, plan.warps, plan.stages, plan.grid_merge ? 1 : 0);
  for (int64_t c = 0; c < ctas; ++c) {
    const uint64_t* row = words.data() + c * kDecodeTimelineFields;
    std::fprintf(f, "decode,%s,%lld,%llu", label.c_str(), static_cast<long long>(c), static_cast<unsigned long long>(row[kTimelineSm]));
    for (int field = kTimelineEntry; field < kTimelineTiles; ++field) std::fprintf(f, ",%lld", static_cast<long long>(rel(row[field])));
    std::fprintf(f, ",%llu", static_cast<unsigned long long>(row[kTimelineTiles]));
    for (int j = 0; j < kDecodeTimelineTiles; ++j) std::fprintf(f, ",%lld", static_cast<long long>(rel(row[kTimelineHeader + j])));
    std::fprintf(f, "\n");
  }
  const uint64_t* reduce = words.data() + ctas * kDecodeTimelineFields;
  for (int64_t h = 0; h < batch * q_heads; ++h)
    if (reduce[2 * h] != 0)
      std::fprintf(f, "reduce,%s,%lld,%lld,%lld\n", label.c_str(), static_cast<long long>(h),
                   static_cast<long long>(rel(reduce[2 * h])), static_cast<long long>(rel(reduce[2 * h + 1])));
  std::fclose(f);
}

template <class T>
__global__ void fill_query_kernel(T* q, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    q[i] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, static_cast<uint64_t>(i), 3)) - 0.5) * 3.4641016));
}

}  // namespace

// ---------------------------------------------------------------- host entry points
double decode_copy_bandwidth_gbs(uint64_t bytes, int repetitions, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  DeviceBuffer src(bytes), dst(bytes);
  CUDA_CHECK(cudaMemsetAsync(src.get(), 1, bytes, stream));
  EventTimer timer;
  std::vector<double> ms = timer.time(stream, 2, repetitions, [&] {
    CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
  });
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(bytes) / (ms[ms.size() / 2] * 1e-3) / 1e9;
}

DecodeHostResult run_decode_host(const DecodeHostProblem& h) {
  DecodeHostResult r;
  try {
    std::string why;
    const auto devices = list_cuda_devices(&why);
    if (devices.empty()) throw std::invalid_argument("no CUDA device: " + why);
    CUDA_CHECK(cudaSetDevice(devices.front().index));
    cudaStream_t stream = nullptr;
    DecodeParams p;
    p.dtype = h.dtype;
    p.batch = h.batch;
    p.q_heads = h.q_heads;
    p.kv_heads = h.kv_heads;
    p.head_dim = h.head_dim;
    p.scale = static_cast<float>(h.scale > 0 ? h.scale : 1.0 / std::sqrt(static_cast<double>(h.head_dim)));
    p.capacity = h.capacity;
    p.page_tokens = h.page_tokens;
    p.max_pages = h.max_pages;
    p.pool_pages = h.pool_pages;
    if (static_cast<int64_t>(h.seq_lens.size()) != h.batch)
      throw std::invalid_argument("seq_lens has " + std::to_string(h.seq_lens.size()) + " entries for batch " +
                                  std::to_string(h.batch));
    for (int32_t n : h.seq_lens) {
      if (n < 1) throw std::invalid_argument("cache length " + std::to_string(n) + ": decoding needs at least one cached token (append first)");
      p.max_len = std::max<int64_t>(p.max_len, n);
    }
    // Validate the shapes before anything is allocated (the pointers are checked once they exist).
    if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
    const size_t q_count = static_cast<size_t>(h.batch * h.q_heads * h.head_dim);
    if (h.q.size() != q_count || h.k.size() != h.v.size() || h.k.empty())
      throw std::invalid_argument("host arrays do not match the shapes");
    if (p.page_tokens > 0 && h.block_table.size() != static_cast<size_t>(h.batch * h.max_pages))
      throw std::invalid_argument("block table must hold batch x max_pages entries");
    DeviceBuffer q, k, v, o(q_count * 2), lens(h.seq_lens.size() * 4), table(std::max<size_t>(4, h.block_table.size() * 4));
    upload_as(h.dtype, h.q.data(), h.q.size(), q, stream);
    upload_as(h.dtype, h.k.data(), h.k.size(), k, stream);
    upload_as(h.dtype, h.v.data(), h.v.size(), v, stream);
    CUDA_CHECK(cudaMemcpyAsync(lens.get(), h.seq_lens.data(), lens.bytes(), cudaMemcpyHostToDevice, stream));
    if (!h.block_table.empty())
      CUDA_CHECK(cudaMemcpyAsync(table.get(), h.block_table.data(), h.block_table.size() * 4, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison: NaN until written
    p.q = q.get();
    p.k = k.get();
    p.v = v.get();
    p.o = o.get();
    p.seq_lens = lens.get<int32_t>();
    p.block_table = h.page_tokens > 0 ? table.get<int32_t>() : nullptr;
    r.plan = plan_decode(p, devices.front(), h.force_splits, h.variant);
    std::vector<DecodeLaunchPlan> earlier;
    uint64_t workspace = r.plan.workspace_bytes;
    for (int s : h.earlier_launch_splits) {
      earlier.push_back(plan_decode(p, devices.front(), s, h.variant));
      workspace = std::max(workspace, earlier.back().workspace_bytes);
    }
    DeviceBuffer partials(workspace);
    if (workspace > 0) {  // partials poisoned (NaN), counters zero
      CUDA_CHECK(cudaMemsetAsync(partials.get(), 0xFF, partials.bytes(), stream));
      CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, decode_counter_bytes(p.batch, p.kv_heads, r.plan.head_blocks), stream));
    }
    p.partials = partials.get<float>();
    for (const DecodeLaunchPlan& plan : earlier) launch_decode(p, plan, stream);
    if (!earlier.empty()) CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison again
    launch_decode(p, r.plan, stream);
    r.output.resize(q_count);
    download_as_float(h.dtype, o.get(), q_count, r.output.data(), stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    r.ok = true;
  } catch (const CudaError& e) {
    r.error = std::string("CUDA error: ") + e.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& e) {
    r.error = e.what();
  }
  return r;
}

void run_decode_request(const RunRequest& req, RunResult& r, const DeviceInfo& device, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  const AttentionInputs& in = *req.inputs;
  const AttentionSpec& spec = in.spec;
  if (spec.q_len != 1)
    throw std::invalid_argument("decode (CUDA) computes one new query per sequence: q_len must be 1 (got " +
                                std::to_string(spec.q_len) + "); use flash for a prefill");
  if (!spec.mask.is_dense() && !(spec.mask.causal && spec.mask.terms.empty() && spec.mask.grid.cells.empty()))
    throw std::invalid_argument("decode (CUDA) reads the whole cache: the mask must be dense or causal (the new "
                                "token is the last one, so causal allows every key)");
  if (req.record_trace) throw std::invalid_argument("decode (CUDA) records no trace");
  DecodeParams p;
  p.dtype = spec.dtype;
  p.batch = spec.batch;
  p.q_heads = spec.q_heads;
  p.kv_heads = spec.kv_heads;
  p.head_dim = spec.head_dim;
  p.max_len = spec.kv_len;
  p.capacity = spec.kv_len;
  p.scale = static_cast<float>(spec.softmax_scale());
  if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
  const DecodeLaunchPlan plan = plan_decode(p, device, 0);
  const uint64_t e = 2, q_bytes = static_cast<uint64_t>(spec.q_elements()) * e;
  const uint64_t kv_bytes = static_cast<uint64_t>(spec.kv_elements()) * e;
  const uint64_t staging = static_cast<uint64_t>(std::max(spec.q_elements(), spec.kv_elements())) * 4;
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  r.bytes_needed = 2 * q_bytes + 2 * kv_bytes + plan.workspace_bytes + staging;
  r.bytes_free = free_b;
  r.bytes_allocated = plan.workspace_bytes;
  if (r.bytes_needed > free_b) {
    r.out_of_memory = true;
    r.error = "decode at " + spec.summary() + " needs " + format_bytes_binary(static_cast<double>(r.bytes_needed)) +
              " (KV cache " + format_bytes_binary(2.0 * kv_bytes) + ") but only " +
              format_bytes_binary(static_cast<double>(free_b)) + " is free on " + device.name +
              ": use a smaller batch, fewer KV heads or a shorter cache";
    return;
  }
  DeviceBuffer q, k, v, o(q_bytes), lens(static_cast<size_t>(spec.batch) * 4), partials(plan.workspace_bytes);
  if (plan.splits > 1)  // tile counters start at zero
    CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks), stream));
  upload_as(spec.dtype, in.q.data(), in.q.size(), q, stream);
  upload_as(spec.dtype, in.k.data(), in.k.size(), k, stream);
  upload_as(spec.dtype, in.v.data(), in.v.size(), v, stream);
  const std::vector<int32_t> host_lens(static_cast<size_t>(spec.batch), static_cast<int32_t>(spec.kv_len));
  CUDA_CHECK(cudaMemcpyAsync(lens.get(), host_lens.data(), lens.bytes(), cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison: NaN until written
  p.q = q.get();
  p.k = k.get();
  p.v = v.get();
  p.o = o.get();
  p.seq_lens = lens.get<int32_t>();
  p.partials = partials.get<float>();
  EventTimer timer;
  r.timing = Timing::from_samples(timer.time(stream, req.warmup, req.repetitions, [&] { launch_decode(p, plan, stream); }));
  r.flops = 4.0 * static_cast<double>(spec.batch * spec.q_heads * spec.kv_len * spec.head_dim);
  r.bytes_moved = static_cast<double>(2 * q_bytes + 2 * kv_bytes);
  if (req.want_output) {
    r.output.resize(static_cast<size_t>(spec.q_elements()));
    download_as_float(spec.dtype, o.get(), r.output.size(), r.output.data(), stream);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  r.ok = true;
}

DecodeLoopResult run_decode_loop_cuda(const DecodeLoopRequest& req, const DeviceInfo& device, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  DecodeLoopResult res;
  res.backend = "cuda";
  res.device = device.name;
  res.storage = dtype_name(req.dtype);
  res.storage_bytes = dtype_bytes(req.dtype);
  if (auto problems = validate(req); !problems.empty()) {
    res.error = problems.front();
    return res;
  }
  try {
    CUDA_CHECK(cudaSetDevice(device.index));
    const int64_t B = req.batch, Hkv = req.kv_heads, d = req.head_dim, N = req.context, P = req.page_tokens;
    const bool paged = P > 0;
    DecodeParams p;
    p.dtype = req.dtype;
    p.batch = B;
    p.q_heads = req.q_heads;
    p.kv_heads = Hkv;
    p.head_dim = d;
    p.max_len = N;
    p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    p.page_tokens = P;
    p.capacity = paged ? 0 : N;
    p.max_pages = paged ? pages_for(N, P) : 0;
    p.pool_pages = paged ? B * p.max_pages : 0;
    if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
    const DecodeLaunchPlan plan_full = plan_decode(p, device, 0);
    const uint64_t e = static_cast<uint64_t>(dtype_bytes(req.dtype));
    const uint64_t cache_rows = paged ? static_cast<uint64_t>(p.pool_pages * P) : static_cast<uint64_t>(B * N);
    res.pool_bytes = 2 * cache_rows * static_cast<uint64_t>(Hkv * d) * e;
    // Tile counters, then partials for the largest split count any context of the loop can plan (at most 128).
    const uint64_t counter_bytes = decode_counter_bytes(B, Hkv, plan_full.head_blocks);
    const uint64_t partial_bytes = counter_bytes + static_cast<uint64_t>(B * req.q_heads * 128 * (2 + d)) * 4;
    res.workspace_bytes = partial_bytes + static_cast<uint64_t>(2 * B * req.q_heads * d) * e +
                          static_cast<uint64_t>(B * (p.max_pages + 1)) * 4;
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const uint64_t flush_bytes = decode_flush_bytes(device);  // the timing's L2 flush (not the decode's memory)
    res.bytes_needed = res.pool_bytes + res.workspace_bytes + flush_bytes;
    res.bytes_free = free_b;
    if (res.bytes_needed > free_b) {
      res.out_of_memory = true;
      res.error = "the KV cache (" + std::to_string(B) + " sequences x " + std::to_string(N) + " tokens x " +
                  std::to_string(Hkv) + " KV heads x d " + std::to_string(d) + ", " + dtype_name(req.dtype) +
                  ") needs " + format_bytes_binary(static_cast<double>(res.bytes_needed)) + " but only " +
                  format_bytes_binary(static_cast<double>(free_b)) + " is free on " + device.name +
                  ": use a smaller batch, fewer KV heads or a shorter context";
      return res;
    }
    DeviceBuffer k(res.pool_bytes / 2), v(res.pool_bytes / 2), q(static_cast<size_t>(B * req.q_heads * d) * e),
        o(q.bytes()), lens(static_cast<size_t>(B) * 4), partials(partial_bytes),
        table(static_cast<size_t>(std::max<int64_t>(1, B * p.max_pages)) * 4), flush(flush_bytes), sink(4);
    CUDA_CHECK(cudaMemsetAsync(flush.get(), 0, flush.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(sink.get(), 0, sink.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, counter_bytes, stream));  // tile counters start at zero
    p.k = k.get();
    p.v = v.get();
    p.q = q.get();
    p.o = o.get();
    p.seq_lens = lens.get<int32_t>();
    p.partials = partials.get<float>();
    p.block_table = paged ? table.get<int32_t>() : nullptr;
    CUDA_CHECK(cudaMemsetAsync(lens.get(), 0, lens.bytes(), stream));
    if (req.dtype == DType::BF16)
      fill_query_kernel<<<256, 256, 0, stream>>>(q.get<__nv_bfloat16>(), B * req.q_heads * d, req.seed);
    else
      fill_query_kernel<<<256, 256, 0, stream>>>(q.get<__half>(), B * req.q_heads * d, req.seed);
    CUDA_CHECK_LAUNCH("fill_query_kernel");

    // The host keeps the block table (kv_cache.hpp's model) and uploads the entries of new pages only.
    PagedKvCache model = paged ? PagedKvCache(B, P, p.pool_pages) : PagedKvCache();
    std::vector<int32_t> host_table;
    auto append_tokens = [&](int64_t from, int64_t count) {
      if (paged) {
        for (int64_t b = 0; b < B; ++b) {
          const size_t before = model.block_table(b).size();
          const auto a = model.append(b, count);
          if (!a.ok) throw std::invalid_argument(a.error);
          const auto& t = model.block_table(b);
          if (t.size() > before)
            CUDA_CHECK(cudaMemcpyAsync(table.get<int32_t>() + b * p.max_pages + before, t.data() + before,
                                       (t.size() - before) * 4, cudaMemcpyHostToDevice, stream));
        }
      }
      fill_rows(p, static_cast<int>(from), static_cast<int>(from + count), req.seed, stream);
      bump_lengths_kernel<<<static_cast<unsigned>((B + 127) / 128), 128, 0, stream>>>(lens.get<int32_t>(),
                                                                                    static_cast<int>(B), static_cast<int>(count));
      CUDA_CHECK_LAUNCH("bump_lengths_kernel");
    };
    append_tokens(0, req.prefill);
    res.copy_gbs = decode_copy_bandwidth_gbs(uint64_t{1} << 30, 10, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));

    EventPair append;  // times the append of each step
    {
      for (int64_t len = req.prefill + 1; len <= N; ++len) {
        CUDA_CHECK(cudaEventRecord(append.start, stream));
        append_tokens(len - 1, 1);
        CUDA_CHECK(cudaEventRecord(append.stop, stream));
        p.max_len = len;
        const DecodeLaunchPlan plan = plan_decode(p, device, 0);
        const bool measured = (len - req.prefill) % req.measure_every == 0 || len == N;
        if (!measured) {
          launch_decode(p, plan, stream);  // the loop decodes every step; only some steps are timed
          continue;
        }
        std::vector<double> ms = time_decodes(stream, flush, sink.get<unsigned>(), device.sm_count, 1, req.repetitions,
                                              [&] { launch_decode(p, plan, stream); });
        std::sort(ms.begin(), ms.end());
        const float append_ms = append.elapsed_ms();
        DecodeStepSample s;
        s.context = len;
        s.decode_ms = ms[ms.size() / 2];
        s.append_ms = append_ms;
        s.kv_bytes_read = 2.0 * static_cast<double>(B * Hkv * len * d) * static_cast<double>(e);
        s.achieved_gbs = s.kv_bytes_read / (s.decode_ms * 1e-3) / 1e9;
        s.pages_in_use = paged ? model.pages_in_use() : 0;
        s.cache_bytes = paged ? static_cast<uint64_t>(s.pages_in_use * P * Hkv * d) * 2 * e : res.pool_bytes;
        s.splits = plan.splits;
        res.samples.push_back(s);
        if (len == N) {
          // The read-only reference: as many bytes as this decode read, from the start of K and of V.
          const int64_t words = static_cast<int64_t>(s.kv_bytes_read / 2 / sizeof(uint4));
          std::vector<double> read_ms = time_decodes(stream, flush, sink.get<unsigned>(), device.sm_count, 1,
                                                     req.repetitions, [&] {
            if (const char* how = std::getenv("ATTNSCOPE_DECODE_READ"); how && std::string(how).rfind("ring", 0) == 0) {
              int ctas = 128, threads = 256, stages = 6, tile_kb = 16;
              std::sscanf(how, "ring,%d,%d,%d,%d", &ctas, &threads, &stages, &tile_kb);
              const int shared = stages * 2 * tile_kb * 1024;
              if (device.cc_major < 9 || ctas < 1 || threads < 32 || threads > 1024 || stages < 2 || stages > 16 ||
                  tile_kb < 1 || shared > device.shared_per_block_optin)
                throw std::invalid_argument(std::string("ATTNSCOPE_DECODE_READ='") + how +
                                            "': ring,CTAS,THREADS,STAGES,TILE_KB needs sm_90, 32..1024 threads, "
                                            "2..16 stages and STAGES x 2 x TILE_KB within the shared memory of a block");
              CUDA_CHECK(cudaFuncSetAttribute(stream_read_ring_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
              stream_read_ring_kernel<<<static_cast<unsigned>(ctas), static_cast<unsigned>(threads), shared, stream>>>(
                  k.get<uint4>(), v.get<uint4>(), words, stages, tile_kb * 64, sink.get<unsigned>());
              CUDA_CHECK_LAUNCH("stream_read_ring_kernel");
              return;
            }
            if (const char* how = std::getenv("ATTNSCOPE_DECODE_READ"); how && *how) {  // experiments
              int ctas = 128, threads = 1024;
              char rot[16] = {0};
              std::sscanf(how, "chunks,%d,%d,%15s", &ctas, &threads, rot);
              if (std::string(how).rfind("chunks", 0) != 0 || ctas < 1 || threads < 32 || threads > 1024)
                throw std::invalid_argument(std::string("ATTNSCOPE_DECODE_READ='") + how +
                                            "': chunks,CTAS,THREADS[,rotate][,cg] or ring,CTAS,THREADS,STAGES,TILE_KB");
              stream_read_chunks_kernel<<<static_cast<unsigned>(ctas), static_cast<unsigned>(threads), 0, stream>>>(
                  k.get<uint4>(), v.get<uint4>(), words,
                  (std::string(rot).find("rotate") != std::string::npos ? 1 : 0) |
                      (std::string(rot).find("cg") != std::string::npos ? 2 : 0),
                  sink.get<unsigned>());
              CUDA_CHECK_LAUNCH("stream_read_chunks_kernel");
              return;
            }
            stream_read_kernel<<<static_cast<unsigned>(4 * std::max(1, device.sm_count)), 256, 0, stream>>>(
                k.get<uint4>(), v.get<uint4>(), words, sink.get<unsigned>());
            CUDA_CHECK_LAUNCH("stream_read_kernel");
          });
          std::sort(read_ms.begin(), read_ms.end());
          res.read_gbs = s.kv_bytes_read / (read_ms[read_ms.size() / 2] * 1e-3) / 1e9;
          if (const char* path = std::getenv("ATTNSCOPE_DECODE_TIMELINE"); path && *path) {
            DeviceBuffer timeline(decode_timeline_words(plan, B, Hkv, req.q_heads) * sizeof(uint64_t));
            CUDA_CHECK(cudaMemsetAsync(timeline.get(), 0, timeline.bytes(), stream));
            DecodeParams traced = p;
            traced.timeline = timeline.get<uint64_t>();
            time_decodes(stream, flush, sink.get<unsigned>(), device.sm_count, 0, 1,
                         [&] { launch_decode(traced, plan, stream); });
            std::vector<uint64_t> host(timeline.bytes() / sizeof(uint64_t));
            CUDA_CHECK(cudaMemcpy(host.data(), timeline.get(), timeline.bytes(), cudaMemcpyDeviceToHost));
            append_decode_timeline(path, "B=" + std::to_string(B) + " Hq=" + std::to_string(req.q_heads) +
                                             " Hkv=" + std::to_string(Hkv) + " d=" + std::to_string(d) + " L=" + std::to_string(len) +
                                             (paged ? " paged/" + std::to_string(P) : std::string(" contiguous")),
                                   plan, B, Hkv, req.q_heads, host);
          }
        }
      }
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    res.ok = true;
  } catch (const CudaError& err) {
    res.ok = false;
    res.out_of_memory = err.code() == cudaErrorMemoryAllocation;
    res.error = std::string(res.out_of_memory ? "out of device memory: " : "CUDA error: ") + err.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& err) {
    res.ok = false;
    res.error = err.what();
  }
  return res;
}

}  // namespace attnscope::kernels
