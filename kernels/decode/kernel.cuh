// kernel.cuh — the decode kernel's mainloop (per (split, KV head × head block, sequence): stream K/V tiles,
// S = Q Kᵀ, online softmax, O += P V), its dispatch over the compile-time configurations, and the typed launch that
// each instantiation file (decode_<dtype>_d<D>.cu) instantiates for its (storage type, head dim).
// Internal to kernels/decode/.
#pragma once
#include <type_traits>

#include "kernels/decode/args.cuh"
#include "kernels/decode/epilogue.cuh"
#include "kernels/decode/load.cuh"
#include "kernels/decode/reduce.cuh"
#include "kernels/decode/scheduler.cuh"
#include "kernels/decode/typed.cuh"

namespace attnscope::kernels::decode {

// T: __half or __nv_bfloat16. D: head_dim (64, 128). MT: 16-row m-tiles of query heads per CTA (1, 2, 4).
// WARPS (4 or 8) split as MT groups of W = WARPS/MT warps; the W warps of a group share an m-tile and split each
// K/V tile's 64 tokens between them (TW = 64/W each, at least one 16-token P tile), each keeping its own
// (m, l, acc); they merge at the end (epilogue.cuh). STAGES: K/V tiles in the shared-memory ring (STAGES − 1 in
// flight). With 3 stages, 8 warps are capped at 128 registers so that two CTAs stay resident per SM; with more
// stages the ring fills most of the SM's shared memory, the CTA runs alone on its SM and keeps Q in registers.
// DYNAMIC: tiles claimed from the tail pool (scheduler.cuh). PAGED: the cache is read through the block table.
// TMA (sm_90, tensor copies): warp 0 starts each K/V tile with the copy engine (load.cuh), completing on the
// stage's mbarrier; the warps wait on the barrier's phase. INSTR: the instrumented kernel — the access-pattern probes
// (DecodeArgs::probe) and the per-CTA timeline (DecodeArgs::timeline); without it neither exists in the code.
template <class T, int D, int MT, int WARPS, int STAGES, bool DYNAMIC, bool PAGED, bool TMA, bool INSTR>
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
  __shared__ __align__(8) uint64_t tile_landed[TMA ? STAGES : 1];  // TMA: stage s's fills complete phases in turn
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int mt = warp / W, wsub = warp % W;
  const int split = blockIdx.x, group_y = blockIdx.y, b = blockIdx.z;  // (split, KV head × head block, sequence)
  const int kvh = group_y / a.head_blocks, hb = group_y % a.head_blocks;
  const int head0 = kvh * a.group + hb * a.heads_per_cta;     // first query head of this CTA
  const int heads_here = min(a.heads_per_cta, a.group - hb * a.heads_per_cta);
  const int len = a.seq_lens[b];
  __shared__ int claimed[DYNAMIC ? STAGES + 1 : 1];
  TileScheduler<STAGES, DYNAMIC, INSTR> sched(a, split, b, group_y, len, claimed);
  if constexpr (DYNAMIC || TMA) {
    if (tid == 0) {
      if constexpr (DYNAMIC) sched.claim_first();
      if constexpr (TMA) {
        for (int st = 0; st < STAGES; ++st) bulk::mbarrier_init(&tile_landed[st], 1);
        bulk::fence_mbarrier_init();  // the barriers are visible to the copy engine
      }
    }
    // Barrier: the first claims and the barriers are ready.
    __syncthreads();
  }
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);
  // Diagnostics (INSTR): thread 0 writes its CTA's timeline row (DecodeTimelineField) when a.timeline is set.
  uint64_t* timeline_row = nullptr;
  if constexpr (INSTR)
    if (a.timeline)
      timeline_row = a.timeline + (static_cast<int64_t>(b * gridDim.y + group_y) * gridDim.x + split) *
                                      kDecodeTimelineFields;
  auto stamp = [&](int field) {
    if constexpr (INSTR)
      if (timeline_row && tid == 0) timeline_row[field] = global_timer_ns();
  };
  stamp(kTimelineEntry);
  if constexpr (INSTR)
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

  auto load_tile = [&](int tile, int stage) {
    T* ks = kv_s + stage * 2 * kTileElements;
    load_tile_cp_async<T, D, kThreads, PAGED>(a, k, v, ks, ks + kTileElements, b, kvh, len, tile);
  };
  auto issue_tile = [&](int tile, int stage) {
    T* ks = kv_s + stage * 2 * kTileElements;
    issue_tile_tma<T, D, PAGED>(a, ks, ks + kTileElements, &tile_landed[stage], b, kvh, len, tile, lane);
  };
  // Prologue: stages − 1 tiles in flight. Without TMA every iteration commits one group (possibly empty) so that
  // wait_group<STAGES − 2> always means "the tile about to be used has landed"; Q is cp.async group 0.
  if constexpr (TMA) {
    if (warp == 0)
      for (int s = 0; s < STAGES - 1; ++s)
        if (const int t = sched.tile_at(s); t >= 0) issue_tile(t, s);
    cp_async_wait<0>();  // Q (visible to all after the first barrier), while the first tiles are on their way
  } else {
    for (int s = 0; s < STAGES - 1; ++s) {
      if (const int t = sched.tile_at(s); t >= 0) load_tile(t, s);
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
      if (const int t = sched.tile_at(it); t >= 0) {
        bulk::mbarrier_wait(&tile_landed[it % STAGES], static_cast<uint32_t>((it / STAGES) & 1));
        if (const int valid = len - t * kBc; valid < kBc)  // the sequence's last tile: zero V's rows past the end
          zero_tail_rows_tma<T, D, kThreads>(kv_s + (it % STAGES) * 2 * kTileElements + kTileElements, valid);
      }
    } else {
      cp_async_wait<STAGES - 2>();
    }
    // Barrier: the tile `it` is visible to all warps, and every warp has finished with the stage refilled below.
    __syncthreads();
    const int tile = sched.tile_at(it);  // the same for every thread of the CTA
    if (tile < 0) {
      if constexpr (INSTR)
        if (timeline_row && tid == 0) timeline_row[kTimelineTiles] = it;
      break;
    }
    if constexpr (INSTR) {
      if (it == 0) stamp(kTimelineFirstTile);
      if (it < kDecodeTimelineTiles) stamp(kTimelineHeader + it);
    }
    if constexpr (TMA) {
      if (warp == 0) {
        // The stage refilled here was last read by ldmatrix in the previous iteration, whose results the MMAs
        // consumed before the barrier: the reads are complete, so no proxy fence (which would also wait for this
        // thread's claim in flight) is needed. Generic stores into a stage (the zeroed rows) fence themselves.
        if (const int t = sched.tile_at(it + STAGES - 1); t >= 0) issue_tile(t, (it + STAGES - 1) % STAGES);
      }
    } else {
      if (const int t = sched.tile_at(it + STAGES - 1); t >= 0) load_tile(t, (it + STAGES - 1) % STAGES);
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

    if constexpr (INSTR) {
      if (a.probe & kDecodeProbeSkipMath) {  // probe: the loads and barriers alone (the output is not valid)
        if constexpr (DYNAMIC)
          if (tid == 0) sched.claim_next(it);
        continue;
      }
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
        ldmatrix_x4(kb[nt], smem_address(ks_tile + kv_chunk<D, TMA>(r, 2 * ks + (lane >> 3))));
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
        ldmatrix_x4_trans(vb, smem_address(vs_tile + kv_chunk<D, TMA>(r, dt + (lane >> 4))));
        mma_16816<T>(acc[dt], pa, vb[0], vb[1]);
        mma_16816<T>(acc[dt + 1], pa, vb[2], vb[3]);
      }
    }
    // The claim for iteration it + STAGES (read after the next barriers): at the end of the iteration, so the
    // atomic's round trip overlaps the MMAs still in flight and the wait for the next tile.
    if constexpr (DYNAMIC)
      if (tid == 0) sched.claim_next(it);
  }
  cp_async_wait<0>();
  stamp(kTimelineLoopEnd);
  // Barrier: every warp is done with the pipeline's shared memory; it now holds the warps' states for the merge.
  __syncthreads();
  decode_epilogue<T, D, MT, WARPS, DYNAMIC, INSTR>(a, smem_bytes, acc, m_row, l_row, split, b, group_y, head0,
                                                  heads_here, sched.counter, timeline_row);
}

// f(mt, warps, stages, dynamic, paged, tma, instr) with compile-time constants for the configurations KernelConfig
// lists (typed.cuh).
template <class F>
void dispatch_config(const KernelConfig& c, F&& f) {
  using std::false_type, std::true_type;
  auto by_instr = [&](auto mt, auto w, auto st, auto dyn, auto paged, auto tma) {
    if (c.instr) f(mt, w, st, dyn, paged, tma, true_type{});
    else f(mt, w, st, dyn, paged, tma, false_type{});
  };
  auto by_paged = [&](auto mt, auto w, auto st, auto dyn, auto tma) {
    if (c.paged) by_instr(mt, w, st, dyn, true_type{}, tma);
    else by_instr(mt, w, st, dyn, false_type{}, tma);
  };
  auto deep = [&](auto mt) {
    constexpr std::integral_constant<int, 8> w8{};
    constexpr std::integral_constant<int, kDecodeDeepStages> ring{};
    constexpr std::integral_constant<int, kDecodeTmaStages> tma_ring{};
    if (c.tma) {
      if (c.dynamic) by_paged(mt, w8, tma_ring, true_type{}, true_type{});
      else by_paged(mt, w8, tma_ring, false_type{}, true_type{});
    } else {
      if (c.dynamic) by_paged(mt, w8, ring, true_type{}, false_type{});
      else by_paged(mt, w8, ring, false_type{}, false_type{});
    }
  };
  if (c.m_tiles == 1)
    by_paged(std::integral_constant<int, 1>{}, std::integral_constant<int, 4>{},
             std::integral_constant<int, kDecodeStages>{}, false_type{}, false_type{});
  else if (c.m_tiles == 2) deep(std::integral_constant<int, 2>{});
  else deep(std::integral_constant<int, 4>{});
}

template <class T, int D, class MT, class W, class ST, class DYN, class PAGED, class TMA, class INSTR>
constexpr auto kernel_of(MT, W, ST, DYN, PAGED, TMA, INSTR) {
  return decode_kernel<T, D, MT::value, W::value, ST::value, DYN::value, PAGED::value, TMA::value, INSTR::value>;
}

// A launch with one attribute switched on: cooperative (every CTA resident at once) or programmatic stream
// serialization (a dependent grid scheduled while its prerequisite runs).
struct LaunchWithAttribute {
  cudaLaunchAttribute attribute[1];
  cudaLaunchConfig_t config{};
  LaunchWithAttribute(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, cudaLaunchAttributeID id) {
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = shared_bytes;
    config.stream = stream;
    attribute[0].id = id;
    if (id == cudaLaunchAttributeCooperative) attribute[0].val.cooperative = 1;
    else attribute[0].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = attribute;
    config.numAttrs = 1;
  }
};

template <class T, int D>
int decode_ctas_per_sm(const KernelConfig& config, int shared_bytes) {
  int resident = 1;
  dispatch_config(config, [&](auto... c) {
    auto kernel = kernel_of<T, D>(c...);
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes));
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, kernel, config.warps * 32, shared_bytes));
  });
  return resident;
}

template <class T, int D>
void launch_decode_typed(const DecodeParams& p, const DecodeLaunchPlan& plan, const DecodeArgs& args,
                         const KernelConfig& config, cudaStream_t stream) {
  const dim3 grid(plan.splits, static_cast<unsigned>(p.kv_heads * plan.head_blocks), static_cast<unsigned>(p.batch));
  dispatch_config(config, [&](auto... c) {
    auto kernel = kernel_of<T, D>(c...);
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, plan.shared_bytes));
    if (plan.grid_merge && plan.splits > 1) {
      // Cooperative: the driver starts the grid only with every CTA resident at once (else an error, no hang);
      // the CTAs of a (sequence, KV head × head block) wait for one another before merging.
      LaunchWithAttribute launch(grid, dim3(config.warps * 32), static_cast<size_t>(plan.shared_bytes), stream,
                                 cudaLaunchAttributeCooperative);
      CUDA_CHECK(cudaLaunchKernelEx(&launch.config, kernel, args));
      CUDA_CHECK_LAUNCH("decode_kernel (grid-merge)");
      return;
    }
    kernel<<<grid, config.warps * 32, plan.shared_bytes, stream>>>(args);
    CUDA_CHECK_LAUNCH("decode_kernel");
    if (plan.splits <= 1) return;
    // The reduction as a programmatic dependent launch: scheduled while the decode grid runs, so the launch gap is
    // hidden.
    const unsigned heads = static_cast<unsigned>(p.batch * p.q_heads);
    LaunchWithAttribute launch(dim3(heads), dim3(kReduceThreads), reduce_shared_bytes(plan.splits), stream,
                               cudaLaunchAttributeProgrammaticStreamSerialization);
    uint64_t* reduce_timeline =
        p.timeline ? p.timeline + static_cast<uint64_t>(grid.x * grid.y * grid.z) * kDecodeTimelineFields : nullptr;
    auto reduce = config.instr ? decode_reduce_kernel<T, D, true> : decode_reduce_kernel<T, D, false>;
    CUDA_CHECK(cudaLaunchKernelEx(&launch.config, reduce, static_cast<const float*>(args.partials), static_cast<int>(heads),
                                  plan.splits, static_cast<T*>(p.o), args.tile_counters,
                                  static_cast<int>(p.batch * p.kv_heads * plan.head_blocks), reduce_timeline));
    CUDA_CHECK_LAUNCH("decode_reduce_kernel");
  });
}

#define ATTNSCOPE_DECODE_INSTANTIATE(T, D)                                                                \
  template int decode_ctas_per_sm<T, D>(const KernelConfig&, int);                                        \
  template void launch_decode_typed<T, D>(const DecodeParams&, const DecodeLaunchPlan&, const DecodeArgs&, \
                                          const KernelConfig&, cudaStream_t);

}  // namespace attnscope::kernels::decode
