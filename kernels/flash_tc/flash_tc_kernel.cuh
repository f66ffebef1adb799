// flash_tc_kernel.cuh — the body of the tensor-core flash kernel (see flash_tc.hpp), included only by the
// per-(type, head_dim) instantiation files flash_tc_<type>_d<D>.cu so that each specialization compiles alone.
//
// Per CTA (Q tile qt of 128 rows, query head h, sequence b); warp w owns rows [32w, 32w + 32) as two m16 tiles.
// K and V live in two shared-memory stages: while visit n is computed from one, visit n + 1 lands in the other.
//   load Q and visit 0's K, V into stage 0        cp.async, one group
//   for each visit n of the Q tile (stage n % 2):
//     wait; barrier                               visit n landed; every warp is done with visit n − 1's stage
//     issue visit n + 1's K, V into the other stage
//     S = Q·K_nᵀ                                  ldmatrix (Q, K_n) → mma.sync, fp32 accumulators in registers
//     masked pairs (bits of a partial visit) → −∞
//     online softmax in base 2: m' = max(m, rowmax(S)·c), p = 2^(S·c − m'), l = l·2^(m − m') + Σp, acc ·= 2^(m − m')
//                                                 (c = scale · log2 e); rows are spread over the 4 lanes of a quad
//     acc += P·V_n                                P from the S accumulators (tensor_core.cuh), V_n by ldmatrix.trans
//   O = acc / l through the warp's own Q rows in shared memory, stored as 16-byte rows; a split piece (a work item
//   with a partial slot) writes (O_p = acc / l, m, l) per row as floats to the workspace instead (split_merge.hpp).
// A row with no allowed key keeps m = −∞: its p are 0 (the max is taken as 0, never −∞ − −∞) and O is 0.
#pragma once
#include <cuda_runtime.h>

#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_tc/flash_tc.hpp"
#include "kernels/common/tensor_core.cuh"

namespace attnscope::kernels {
namespace flash_tc_impl {

using namespace attnscope::kernels::tc;

constexpr float kLog2e = 1.4426950408889634f;
constexpr int kBr = kFlashTcBr, kBc = kFlashTcBc, kWarps = kFlashTcWarps;
constexpr int kThreads = kWarps * 32;
constexpr int kMt = kBr / (16 * kWarps);  // m16 tiles per warp
constexpr int kNbS = kBc / 8;             // 8-key column blocks of S

// Q tile + two stages of (K, V) blocks of 2-byte elements: 48 KB at D = 64, 96 KB at D = 128.
template <int D>
constexpr int shared_bytes = (kBr * D + 2 * 2 * kBc * D) * 2;
// Keys per S sub-block. Splitting S into 32-key halves at D = 128 (to free 32 registers) measured worse in ptxas:
// it re-reads Q from shared memory per half and still spilled; with the address arithmetic reduced (one XOR per
// k-step) the whole 64-key block fits.
template <int D>
constexpr int sub_block_keys = 64;

// Q rows [row0, row0 + Br) of one head into shared memory; rows past q_len become zeros.
template <class T, int D>
__device__ __forceinline__ void load_q(T* qs, const T* q_head, int64_t row0, int64_t q_len, int tid) {
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = tid; i < kBr * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const bool valid = row0 + r < q_len;
    cp_async_16(smem_address(qs + r * D + swizzle(r, c) * 8), valid ? q_head + (row0 + r) * D + c * 8 : q_head,
                valid);
  }
}

// One K or V block: local row r holds key (gathered ? keys[r] : key_begin + r); padding (−1) and keys past kv_len
// become zeros, so 0 · V stays 0 in P·V.
template <class T, int D>
__device__ __forceinline__ void load_kv(T* dst, const T* head, const int32_t* keys, int32_t key_begin,
                                        int64_t kv_len, int tid) {
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = tid; i < kBc * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const int64_t key = keys ? int64_t{keys[r]} : int64_t{key_begin} + r;
    const bool valid = key >= 0 && key < kv_len;
    cp_async_16(smem_address(dst + r * D + swizzle(r, c) * 8), valid ? head + key * D + c * 8 : head, valid);
  }
}


// CTAs per SM the register budget is sized for: D = 64 fits three (168 registers, 48 KB of shared memory each),
// D = 128 two (255 registers, 96 KB). Three CTAs at D = 64 were faster than two (docs/journal/flash-tc.md, run 3).
template <int D>
constexpr int ctas_per_sm = D == 64 ? 3 : 2;
// kTracing: the instrumented variant (its own instantiation: the probes' registers would push the plain kernel,
// which sits at the register limit, into spilling).
template <class T, int D, bool kTracing>
__global__ void __launch_bounds__(kThreads, ctas_per_sm<D>)
    flash_tc_kernel(const FlashTcParams p, const FlashTraceBuffers trace) {
  constexpr bool tracing = kTracing;
  constexpr int kNbO = D / 8;  // 8-column blocks of O
  constexpr int kChunks = D / 8;
  constexpr int kSub = sub_block_keys<D>;
  extern __shared__ __align__(1024) unsigned char shared_raw[];
  T* qs = reinterpret_cast<T*>(shared_raw);
  T* stages = qs + kBr * D;  // stage s: K at stages + s·2·Bc·D, V right after it

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  // Unsplit: the longest (causal: the last) Q tiles start first. Split: the work items are already longest first.
  const WorkItem item = p.items ? p.items[blockIdx.x]
                                : WorkItem{p.tr - 1 - static_cast<int>(blockIdx.x), 0, 0, -1};
  const int qt = item.q_tile;
  const int64_t h = blockIdx.y, b = blockIdx.z;
  const int64_t kvh = h / (p.q_heads / p.kv_heads);
  const T* q_head = static_cast<const T*>(p.q) + (b * p.q_heads + h) * p.q_len * D;
  const T* k_head = static_cast<const T*>(p.k) + (b * p.kv_heads + kvh) * p.kv_len * D;
  const T* v_head = static_cast<const T*>(p.v) + (b * p.kv_heads + kvh) * p.kv_len * D;
  T* o_head = static_cast<T*>(p.o) + (b * p.q_heads + h) * p.q_len * D;
  const int64_t row0 = int64_t{qt} * kBr;
  const int v_begin = p.items ? item.visit_begin : p.offsets[qt], v_end = p.items ? item.visit_end : p.offsets[qt + 1];
  const int64_t cta = (b * p.q_heads + h) * p.tr + qt;
  const float scale_log2 = p.scale * kLog2e;

  // ldmatrix addresses. For a fixed lane every row it addresses has row & 7 == lane & 7, so the swizzled chunk of
  // logical chunk 2·kk + c is (c ^ (lane & 7)) ^ 2·kk, and with tile bases and row strides aligned to 256 bytes
  // (D = 128; 128 at D = 64, where kk < 4) the byte address is lane_base ^ (32·kk): one XOR per k-step, and row
  // offsets become immediates. This keeps the address arithmetic out of the 255-register budget.
  constexpr int kRowBytes = D * 2;
  const int lane7 = lane & 7;
  const uint32_t q_lane = smem_address(qs) + (warp * 32 + lane % 16) * kRowBytes + (((lane / 16) ^ lane7) * 16);
  const uint32_t k_lane_offset = ((lane / 16) * 8 + lane7) * kRowBytes + ((((lane / 8) % 2) ^ lane7) * 16);
  const uint32_t v_lane_offset = ((((lane / 8) % 2) * 8) + lane7) * kRowBytes + (((lane / 16) ^ lane7) * 16);
  const uint32_t stages_address = smem_address(stages);

  auto load_visit = [&](int stage, const KernelVisit& visit) {
    const int32_t* keys = p.gathered ? p.keys + visit.key_begin : nullptr;
    T* k_dst = stages + stage * 2 * kBc * D;
    load_kv<T, D>(k_dst, k_head, keys, visit.key_begin, p.kv_len, tid);
    load_kv<T, D>(k_dst + kBc * D, v_head, keys, visit.key_begin, p.kv_len, tid);
  };

  load_q<T, D>(qs, q_head, row0, p.q_len, tid);
  if (v_begin < v_end) load_visit(0, p.visits[v_begin]);
  cp_async_commit();

  float acc[kMt][kNbO][4];
  float m[kMt][2], l[kMt][2], rescale[kMt][2];
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][nb][e] = 0.f;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      m[mt][half] = -INFINITY;
      l[mt][half] = 0.f;
      rescale[mt][half] = 1.f;
    }
  }
  if constexpr (tracing) if (tid == 0) {
    trace.cta_sm[cta] = sm_id();
    trace.visit_count[cta] = v_end - v_begin;
  }

  for (int vi = v_begin; vi < v_end; ++vi) {
    const int step = vi - v_begin, stage = step & 1;
    uint64_t t_start = 0;
    if constexpr (tracing) if (tid == 0) t_start = global_timer_ns();
    const KernelVisit visit = p.visits[vi];
    // Visit vi has landed (this thread's copies: wait; everyone's: barrier), and every warp is done with visit
    // vi − 1, whose stage now receives visit vi + 1 while this one is computed.
    cp_async_wait<0>();
    __syncthreads();
    if (vi + 1 < v_end) load_visit(stage ^ 1, p.visits[vi + 1]);
    cp_async_commit();
    const uint32_t k_lane = stages_address + stage * 2 * kBc * kRowBytes + k_lane_offset;
    const uint32_t v_lane = stages_address + (stage * 2 + 1) * kBc * kRowBytes + v_lane_offset;

#pragma unroll
    for (int sub = 0; sub < kBc / kSub; ++sub) {
      // S = Q·Kᵀ for the warp's 32 rows × kSub keys.
      float s[kMt][kSub / 8][4];
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
        for (int nb = 0; nb < kSub / 8; ++nb)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[mt][nb][e] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t a[kMt][4];
#pragma unroll
        for (int mt = 0; mt < kMt; ++mt) ldmatrix_x4(a[mt], (q_lane ^ (kk * 32)) + mt * 16 * kRowBytes);
#pragma unroll
        for (int np = 0; np < kSub / 16; ++np) {
          uint32_t bk[4];  // keys sub·kSub + 16·np + [0, 16), d chunks 2·kk, 2·kk + 1
          ldmatrix_x4(bk, (k_lane ^ (kk * 32)) + (sub * kSub + np * 16) * kRowBytes);
#pragma unroll
          for (int mt = 0; mt < kMt; ++mt) {
            mma_16816<T>(s[mt][2 * np], a[mt], bk[0], bk[1]);
            mma_16816<T>(s[mt][2 * np + 1], a[mt], bk[2], bk[3]);
          }
        }
      }

      // Partial visit: pairs whose bit is 0 get −∞.
      if (visit.mask_index >= 0) {
        const uint64_t* bits = p.bits + int64_t{visit.mask_index} * kBr;
#pragma unroll
        for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const uint64_t word = bits[warp * 32 + mt * 16 + half * 8 + lane / 4] >> (sub * kSub);
#pragma unroll
            for (int nb = 0; nb < kSub / 8; ++nb)
#pragma unroll
              for (int e = 2 * half; e < 2 * half + 2; ++e) {
                const int col = nb * 8 + 2 * (lane % 4) + (e % 2);
                if (((word >> col) & 1u) == 0) s[mt][nb][e] = -INFINITY;
              }
          }
      }

      // Online softmax, base 2, per row (two rows per m16 tile per thread; a row's keys are on 4 lanes).
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float row_max = -INFINITY;
#pragma unroll
          for (int nb = 0; nb < kSub / 8; ++nb)
            row_max = fmaxf(row_max, fmaxf(s[mt][nb][2 * half], s[mt][nb][2 * half + 1]));
          const float m_new = fmaxf(m[mt][half], quad_max(row_max) * scale_log2);
          // A row that has seen only masked keys keeps m = −∞, p = 0 and rescale 1 (nothing to rescale).
          const float m_use = m_new == -INFINITY ? 0.f : m_new;
          const float r = m_new == -INFINITY ? 1.f : fast_exp2(m[mt][half] - m_new);
          float sum = 0.f;
#pragma unroll
          for (int nb = 0; nb < kSub / 8; ++nb)
#pragma unroll
            for (int e = 2 * half; e < 2 * half + 2; ++e) {
              const float pe = fast_exp2(fmaf(s[mt][nb][e], scale_log2, -m_use));
              s[mt][nb][e] = pe;
              sum += pe;
            }
          l[mt][half] = l[mt][half] * r + sum;
          m[mt][half] = m_new;
          rescale[mt][half] = sub == 0 ? r : rescale[mt][half] * r;
#pragma unroll
          for (int nb = 0; nb < kNbO; ++nb) {
            acc[mt][nb][2 * half] *= r;
            acc[mt][nb][2 * half + 1] *= r;
          }
        }

      // acc += P·V: the S accumulators of key blocks 2j, 2j+1 are the A fragment of k-step j.
#pragma unroll
      for (int j = 0; j < kSub / 16; ++j) {
        uint32_t a[kMt][4];
#pragma unroll
        for (int mt = 0; mt < kMt; ++mt) {
          a[mt][0] = pack2<T>(s[mt][2 * j][0], s[mt][2 * j][1]);
          a[mt][1] = pack2<T>(s[mt][2 * j][2], s[mt][2 * j][3]);
          a[mt][2] = pack2<T>(s[mt][2 * j + 1][0], s[mt][2 * j + 1][1]);
          a[mt][3] = pack2<T>(s[mt][2 * j + 1][2], s[mt][2 * j + 1][3]);
        }
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
          uint32_t bv[4];  // keys sub·kSub + 16·j + [0, 16), d chunks 2·dp, 2·dp + 1, transposed
          ldmatrix_x4_trans(bv, (v_lane ^ (dp * 32)) + (sub * kSub + j * 16) * kRowBytes);
#pragma unroll
          for (int mt = 0; mt < kMt; ++mt) {
            mma_16816<T>(acc[mt][2 * dp], a[mt], bv[0], bv[1]);
            mma_16816<T>(acc[mt][2 * dp + 1], a[mt], bv[2], bv[3]);
          }
        }
      }
    }

    if constexpr (tracing) {
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float sq = 0.f;
#pragma unroll
          for (int nb = 0; nb < kNbO; ++nb)
            sq += acc[mt][nb][2 * half] * acc[mt][nb][2 * half] + acc[mt][nb][2 * half + 1] * acc[mt][nb][2 * half + 1];
          sq = quad_sum(sq);
          const float row_l = quad_sum(l[mt][half]);
          const int64_t row = row0 + warp * 32 + mt * 16 + half * 8 + lane / 4;
          if (b == 0 && h == 0 && lane % 4 == 0)
            for (int slot = 0; slot < trace.probe_count; ++slot)
              if (trace.probe_rows[slot] == row) {
                float* state = trace.probe_state + (int64_t{slot} * p.trace_stride + step) * 4;
                state[0] = m[mt][half] / kLog2e;  // back to natural units: the row's max of scale·S so far
                state[1] = row_l;
                state[2] = rescale[mt][half];
                state[3] = sqrtf(sq);
                trace.probe_tile[int64_t{slot} * p.trace_stride + step] = visit.tile;
                trace.probe_steps[slot] = step + 1;
              }
        }
      __syncthreads();  // tracing only: the visit ends when every warp has finished its P·V
      if (tid == 0) {
        const int64_t slot = cta * p.trace_stride + step;
        trace.visit_tile[slot] = visit.tile;
        trace.visit_start[slot] = t_start;
        trace.visit_end[slot] = global_timer_ns();
      }
    }
  }

  // Epilogue: O = acc / l (0 for rows with no allowed key), staged through the warp's own Q rows.
  cp_async_wait<0>();
  __syncthreads();  // Q may still have been landing if the tile had no visits
  // The item's slot is read again here rather than kept live through the loop (the kernel sits at its register limit).
  const int32_t partial = p.items ? p.items[blockIdx.x].partial : -1;
  if (!tracing && partial >= 0) {  // a split piece: (O_p, m_p, l_p) as floats, merged afterwards
    const int64_t slot_floats = int64_t{kBr} * (D + 2);
    float* slot = p.partials + ((b * p.q_heads + h) * p.partial_slots + partial) * slot_floats;
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float row_l = quad_sum(l[mt][half]);
        const float inv = row_l > 0.f ? 1.f / row_l : 0.f;
        const int local = warp * 32 + mt * 16 + half * 8 + lane / 4;
        if (lane % 4 == 0) {
          slot[int64_t{kBr} * D + local] = m[mt][half];  // base 2, as the merge expects
          slot[int64_t{kBr} * D + kBr + local] = row_l;
        }
#pragma unroll
        for (int nb = 0; nb < kNbO; ++nb)
          *reinterpret_cast<float2*>(slot + local * D + nb * 8 + 2 * (lane % 4)) =
              make_float2(acc[mt][nb][2 * half] * inv, acc[mt][nb][2 * half + 1] * inv);
      }
    return;
  }
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float row_l = quad_sum(l[mt][half]);
      const float inv = row_l > 0.f ? 1.f / row_l : 0.f;
      const int local = warp * 32 + mt * 16 + half * 8 + lane / 4;
      if (row_l == 0.f && lane % 4 == 0 && row0 + local < p.q_len && p.empty_rows) atomicAdd(p.empty_rows, 1ull);
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb)
        *reinterpret_cast<uint32_t*>(qs + local * D + swizzle(local, nb) * 8 + 2 * (lane % 4)) =
            pack2<T>(acc[mt][nb][2 * half] * inv, acc[mt][nb][2 * half + 1] * inv);
    }
  __syncwarp();
#pragma unroll
  for (int i = lane; i < 32 * kChunks; i += 32) {
    const int r = warp * 32 + i / kChunks, c = i % kChunks;
    if (row0 + r < p.q_len)
      *reinterpret_cast<int4*>(o_head + (row0 + r) * D + c * 8) =
          *reinterpret_cast<const int4*>(qs + r * D + swizzle(r, c) * 8);
  }
}

}  // namespace flash_tc_impl

namespace detail {

template <class T, int D>
void launch_flash_tc_typed(const FlashTcParams& p, void* stream) {
  auto kernel = p.trace ? flash_tc_impl::flash_tc_kernel<T, D, true> : flash_tc_impl::flash_tc_kernel<T, D, false>;
  constexpr int bytes = flash_tc_impl::shared_bytes<D>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>(p.grid_x()), static_cast<unsigned>(p.q_heads), static_cast<unsigned>(p.batch));
  const FlashTraceBuffers trace = p.trace ? *p.trace : FlashTraceBuffers{};
  kernel<<<grid, flash_tc_impl::kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(p, trace);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace detail
}  // namespace attnscope::kernels
