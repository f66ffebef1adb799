// flash_tc_ws.cuh — the warp-specialised Hopper (sm_90a) path of the tensor-core flash kernel, after the design of
// FlashAttention-3: the copy engine moves tiles, the tensor cores run asynchronously, and the softmax of one
// product overlaps the next products.
//
// Per CTA (Q tile of 128 rows, query head, sequence) three warpgroups of 128 threads:
//   producer   warpgroup 0 gives its registers back (setmaxnreg) and one thread issues tensor copies (TMA): the Q
//              tile once, then per step the K and V tiles into a ring of shared-memory stages. Each stage has
//              two "full" transaction barriers (K, V: the consumers start Q·Kᵀ before V has landed) and one
//              "empty" barrier the consumers arrive on when they no longer read the stage.
//   consumers  warpgroups 1 and 2 own query rows [0, 64) and [64, 128) of the tile and claim the registers.
// A step is two visits of the schedule (core/visit_schedule.hpp, Bc = 64 keys each), so S is 64 × 128 per
// warpgroup; the two visits need not be adjacent tiles: each 64-key half of the K/V stage is its own copy. When a
// Q tile has an odd number of visits, the last step's second half is copied from past the end of K/V (the copy
// engine fills zeros) and its columns are masked.
//
// Per consumer warpgroup, with S_i = Q·K_iᵀ of step i and P_i its probabilities (fp32 in the S registers, packed to
// the storage type for the register-A operand of P·V):
//   S_0 ; softmax(S_0)
//   for i ≥ 1:  issue S_i ; issue O += P_{i−1}·V_{i−1} ; wait S_i ; softmax(S_i) (new row max m_i, row sums) ;
//               wait P·V ; release stage i − 1 ; O *= exp2(m_{i−1} − m_i)
//   O += P_last·V_last ; O /= l
// so the exponentials of step i run while the tensor cores compute P_{i−1}·V_{i−1} (intra-warpgroup overlap).
// With ping-pong on, the two consumer warpgroups also take turns to issue their products (named barriers), so one
// warpgroup's softmax runs while the other's products occupy the tensor cores.
//
// Shared memory, 128-byte swizzle throughout (the layout of flash_tc_wgmma.cuh): a tile of R rows is split into
// 64-column halves of R·128 bytes, row r at r·128, 16-byte chunk c at (c ^ (r & 7))·16 — exactly what a tensor copy
// of a 64 × 64 box with CU_TENSOR_MAP_SWIZZLE_128B writes at a 1024-byte aligned address.
// Gathered schedules (key lists) are not run here: flash_tc.cu sends them to the wgmma kernel.
//
// Inside one SM (kTimeline, a separate instantiation, ping-pong only): for the CTA FlashTcParams::timeline names,
// the producer's copy thread and thread 0 of each consumer warpgroup log clock64 at the events of
// core/sm_timeline.hpp, in program order; every other CTA, and the untimed kernel, log nothing.
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>

#include "kernels/common/bulk_copy.cuh"
#include "kernels/common/cuda_util.cuh"
#include "kernels/common/tensor_core.cuh"
#include "kernels/common/tensor_map.hpp"
#include "kernels/common/warpgroup.cuh"
#include "core/sm_timeline.hpp"
#include "kernels/common/wgmma_ops.cuh"
#include "kernels/flash_tc/flash_tc.hpp"

namespace attnscope::kernels {
namespace flash_tc_ws_impl {

using namespace attnscope::kernels::tc;

constexpr float kLog2e = 1.4426950408889634f;
constexpr int kBr = kFlashTcBr;   // 128 query rows: two consumer warpgroups of 64
constexpr int kVisitKeys = kFlashTcBc;  // 64 keys per visit of the schedule
constexpr int kStepKeys = 2 * kVisitKeys;  // 128 keys per step
constexpr int kThreads = 384;
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
constexpr int kTurnBarrier = 1;  // named barriers 1 and 2: consumer warpgroup 0's and 1's turn

template <int D>
struct Layout {
  static constexpr int stages = D == 64 ? 4 : 3;
  static constexpr uint32_t q_bytes = kBr * D * 2;
  static constexpr uint32_t tile_bytes = kStepKeys * D * 2;  // one K or V stage half
  static constexpr uint32_t stage_bytes = 2 * tile_bytes;
  static constexpr uint32_t barrier_offset = q_bytes + stages * stage_bytes;
  static constexpr int barriers = 1 + 3 * stages;  // Q; per stage K full, V full, empty
  static constexpr int shared_bytes = static_cast<int>(barrier_offset) + barriers * 8 + 1024;  // + alignment slack
};

struct WsArgs {
  FlashTcParams p;
  CUtensorMap q_map, k_map, v_map;  // 3-D: (head_dim, rows, batch · heads), boxes of 64 × 64, 128-byte swizzle
  SmTimelineBuffers timeline;       // kTimeline only
};

// One lane's event log (kTimeline): the SM clock into the event's fixed slot [lane][step][event] of the timeline
// buffer (no counter, no pointer held in registers: the consumers' registers hold the wgmma accumulators). `on`
// only in the recorded CTA's logging thread.
struct LaneLog {
  const SmTimelineBuffers* buffers = nullptr;  // in the kernel's parameter space
  int lane = 0;
  bool on = false;
  __device__ __forceinline__ void add(SmEvent e, int step) const {
    if (on && step < buffers->capacity)
      buffers->slots[(int64_t{lane} * buffers->capacity + step) * kSmEventKinds + static_cast<int>(e)] = clock64();
  }
};

// Byte offset of 16-byte chunk c of row r in a tile of `rows` rows (layout in the header comment).
__device__ __forceinline__ uint32_t chunk_offset(int rows, int r, int c) {
  return static_cast<uint32_t>((c / 8) * rows * 128 + r * 128 + (((c % 8) ^ (r & 7)) * 16));
}

template <class T, int D, bool PingPong, bool kTimeline = false>
__global__ void __launch_bounds__(kThreads, 1) flash_tc_ws_kernel(const __grid_constant__ WsArgs args) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __trap();  // built only for sm_90a; the host never launches it elsewhere
#else
  using L = Layout<D>;
  constexpr int kHalves = D / 64;
  constexpr int kNbO = D / 8;
  const FlashTcParams& p = args.p;
  extern __shared__ unsigned char shared_raw[];
  unsigned char* base = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(shared_raw) + 1023) & ~uintptr_t{1023});
  const uint32_t q_smem = smem_address(base);
  uint64_t* bars = reinterpret_cast<uint64_t*>(base + L::barrier_offset);
  uint64_t* q_full = bars;
  uint64_t* k_full = bars + 1;
  uint64_t* v_full = bars + 1 + L::stages;
  uint64_t* empty = bars + 1 + 2 * L::stages;
  auto k_stage = [&](int s) { return base + L::q_bytes + s * L::stage_bytes; };

  const int tid = threadIdx.x, warpgroup_index = tid / 128;
  const int qt = p.tr - 1 - static_cast<int>(blockIdx.x);  // longest lists first under causal masks
  const int64_t h = blockIdx.y, b = blockIdx.z;
  const int64_t kvh = h / (p.q_heads / p.kv_heads);
  const int row0 = qt * kBr;
  const int v_begin = p.offsets[qt], v_end = p.offsets[qt + 1];
  const int steps = (v_end - v_begin + 1) / 2;
  // The recorded CTA's lanes: lane 0 is thread 0 (the producer's copy thread), lanes 1 and 2 thread 0 of each consumer.
  const SmTimelineBuffers& tl = args.timeline;
  const bool recorded = kTimeline && qt == tl.q_tile && h == tl.head && b == tl.batch;
  const LaneLog lane_log{&tl, tid / 128, recorded && tid % 128 == 0};
  if (recorded && tid == 0) {
    tl.calibration[0] = global_timer_ns();
    tl.calibration[1] = clock64();
    tl.sm[0] = sm_id();
  }

  if (tid == 0) {
    bulk::mbarrier_init(q_full, 1);
    for (int s = 0; s < L::stages; ++s) {
      bulk::mbarrier_init(&k_full[s], 1);
      bulk::mbarrier_init(&v_full[s], 1);
      bulk::mbarrier_init(&empty[s], 8);  // one arrival per consumer warp
    }
    bulk::fence_mbarrier_init();
  }
  __syncthreads();

  if (warpgroup_index == 0) {
    warpgroup::release_registers<kProducerRegisters>();
    if (tid != 0) return;
    const int q_plane = static_cast<int>(b * p.q_heads + h), kv_plane = static_cast<int>(b * p.kv_heads + kvh);
    bulk::mbarrier_arrive_expect_tx(q_full, L::q_bytes);
#pragma unroll
    for (int rb = 0; rb < 2; ++rb)
#pragma unroll
      for (int hh = 0; hh < kHalves; ++hh)
        bulk::tensor_load_3d(base + hh * kBr * 128 + rb * 64 * 128, &args.q_map, hh * 64, row0 + rb * 64, q_plane,
                             q_full);
    for (int i = 0; i < steps; ++i) {
      const int s = i % L::stages;
      const uint32_t use = static_cast<uint32_t>(i / L::stages);
      if (use > 0) {
        lane_log.add(SmEvent::StageWaitBegin, i);
        bulk::mbarrier_wait(&empty[s], (use - 1) & 1);
        lane_log.add(SmEvent::StageWaitEnd, i);
      }
      int key_row[2];
#pragma unroll
      for (int a = 0; a < 2; ++a) {
        const int vi = v_begin + 2 * i + a;
        key_row[a] = vi < v_end ? p.visits[vi].key_begin : static_cast<int>(p.kv_len);  // past the end: zeros
      }
      unsigned char* k_tile = k_stage(s);
      unsigned char* v_tile = k_tile + L::tile_bytes;
      bulk::mbarrier_arrive_expect_tx(&k_full[s], L::tile_bytes);
#pragma unroll
      for (int a = 0; a < 2; ++a)
#pragma unroll
        for (int hh = 0; hh < kHalves; ++hh)
          bulk::tensor_load_3d(k_tile + hh * kStepKeys * 128 + a * 64 * 128, &args.k_map, hh * 64, key_row[a],
                               kv_plane, &k_full[s]);
      lane_log.add(SmEvent::CopyKIssued, i);
      bulk::mbarrier_arrive_expect_tx(&v_full[s], L::tile_bytes);
#pragma unroll
      for (int a = 0; a < 2; ++a)
#pragma unroll
        for (int hh = 0; hh < kHalves; ++hh)
          bulk::tensor_load_3d(v_tile + hh * kStepKeys * 128 + a * 64 * 128, &args.v_map, hh * 64, key_row[a],
                               kv_plane, &v_full[s]);
      lane_log.add(SmEvent::CopyVIssued, i);
    }
    return;
  }

  warpgroup::claim_registers<kConsumerRegisters>();
  const int consumer = warpgroup_index - 1;  // 0 or 1: rows [64·consumer, 64·consumer + 64)
  const int ctid = tid - 128 * warpgroup_index, warp_in_group = ctid / 32, lane = ctid % 32;
  const float scale_log2 = p.scale * kLog2e;
  const uint32_t q_rows = q_smem + consumer * 64 * 128;

  // Turn taking: consumer 0 goes first; a turn is one batch of issued products.
  auto turn_begin = [&] {
    if constexpr (PingPong) warpgroup::barrier_sync(kTurnBarrier + consumer, 256);
  };
  auto turn_end = [&] {
    if constexpr (PingPong) warpgroup::barrier_arrive(kTurnBarrier + (1 - consumer), 256);
  };
  if constexpr (PingPong)
    if (consumer == 1) warpgroup::barrier_arrive(kTurnBarrier, 256);

  float o[kNbO * 4];
#pragma unroll
  for (int i = 0; i < kNbO * 4; ++i) o[i] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, rescale[2] = {1.f, 1.f};
  float s[kStepKeys / 2];
  uint32_t pa[kStepKeys / 16][4];

  auto issue_scores = [&](int stage) {
    const uint32_t k_tile = smem_address(k_stage(stage));
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint32_t column = (kk % 4) * 32;
      const uint64_t desc_q = wgmma::descriptor(q_rows + (kk / 4) * kBr * 128 + column, 16, 1024);
      const uint64_t desc_k = wgmma::descriptor(k_tile + (kk / 4) * kStepKeys * 128 + column, 16, 1024);
      wgmma::wgmma_ss_acc<T, kStepKeys>(s, desc_q, desc_k, kk > 0 ? 1 : 0);
    }
    wgmma::commit_group();
  };
  auto issue_values = [&](int stage) {
    const uint32_t v_tile = smem_address(k_stage(stage)) + L::tile_bytes;
#pragma unroll
    for (int j = 0; j < kStepKeys / 16; ++j) {
      const uint64_t desc_v = wgmma::descriptor(v_tile + j * 2 * 1024, kStepKeys * 128, 1024);
      wgmma::wgmma_rs<T, D>(o, pa[j], desc_v);
    }
    wgmma::commit_group();
  };
  // Masks step i's scores (partial visits by their bits, a missing second visit entirely), then the online softmax:
  // s becomes exp2(s·scale·log2e − m), l and m are updated, rescale holds exp2(m_old − m_new) for O.
  auto softmax = [&](int i) {
#pragma unroll
    for (int a = 0; a < 2; ++a) {
      const int vi = v_begin + 2 * i + a;
      const int mask_index = vi < v_end ? p.visits[vi].mask_index : -2;
      if (mask_index == -1) continue;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const uint64_t word =
            mask_index >= 0 ? p.bits[int64_t{mask_index} * kBr + consumer * 64 + warp_in_group * 16 + half * 8 + lane / 4]
                            : 0ull;
#pragma unroll
        for (int nb = 0; nb < 8; ++nb)
#pragma unroll
          for (int e = 2 * half; e < 2 * half + 2; ++e) {
            const int col = nb * 8 + 2 * (lane % 4) + (e % 2);
            if (((word >> col) & 1u) == 0) s[(a * 8 + nb) * 4 + e] = -INFINITY;
          }
      }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float row_max = -INFINITY;
#pragma unroll
      for (int nb = 0; nb < kStepKeys / 8; ++nb)
        row_max = fmaxf(row_max, fmaxf(s[nb * 4 + 2 * half], s[nb * 4 + 2 * half + 1]));
      const float m_new = fmaxf(m[half], quad_max(row_max) * scale_log2);
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      rescale[half] = m_new == -INFINITY ? 1.f : fast_exp2(m[half] - m_new);
      float sum = 0.f;
#pragma unroll
      for (int nb = 0; nb < kStepKeys / 8; ++nb)
#pragma unroll
        for (int e = 2 * half; e < 2 * half + 2; ++e) {
          const float pe = fast_exp2(fmaf(s[nb * 4 + e], scale_log2, -m_use));
          s[nb * 4 + e] = pe;
          sum += pe;
        }
      l[half] = l[half] * rescale[half] + sum;
      m[half] = m_new;
    }
  };
  auto pack_probabilities = [&] {
#pragma unroll
    for (int j = 0; j < kStepKeys / 16; ++j) {
      pa[j][0] = pack2<T>(s[8 * j + 0], s[8 * j + 1]);
      pa[j][1] = pack2<T>(s[8 * j + 2], s[8 * j + 3]);
      pa[j][2] = pack2<T>(s[8 * j + 4], s[8 * j + 5]);
      pa[j][3] = pack2<T>(s[8 * j + 6], s[8 * j + 7]);
    }
  };
  auto rescale_output = [&] {
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb) {
      o[nb * 4 + 0] *= rescale[0];
      o[nb * 4 + 1] *= rescale[0];
      o[nb * 4 + 2] *= rescale[1];
      o[nb * 4 + 3] *= rescale[1];
    }
  };
  auto release_stage = [&](int stage) {
    if (lane == 0) asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_address(&empty[stage])) : "memory");
  };

  lane_log.add(SmEvent::QWaitBegin, 0);
  bulk::mbarrier_wait(q_full, 0);
  lane_log.add(SmEvent::QWaitEnd, 0);
  if (steps > 0) {
    lane_log.add(SmEvent::KWaitBegin, 0);
    bulk::mbarrier_wait(&k_full[0], 0);
    lane_log.add(SmEvent::KWaitEnd, 0);
    lane_log.add(SmEvent::TurnWaitBegin, 0);
    turn_begin();
    lane_log.add(SmEvent::TurnWaitEnd, 0);
    wgmma::fence();
    issue_scores(0);
    lane_log.add(SmEvent::ScoresIssued, 0);
    turn_end();
    wgmma::wait_group<0>();
    wgmma::fence_operands(s);
    lane_log.add(SmEvent::ScoresDone, 0);
    softmax(0);
    pack_probabilities();
    lane_log.add(SmEvent::SoftmaxEnd, 0);
    for (int i = 1; i < steps; ++i) {
      const int stage = i % L::stages, previous = (i - 1) % L::stages;
      lane_log.add(SmEvent::KWaitBegin, i);
      bulk::mbarrier_wait(&k_full[stage], static_cast<uint32_t>(i / L::stages) & 1);
      lane_log.add(SmEvent::KWaitEnd, i);
      lane_log.add(SmEvent::VWaitBegin, i - 1);
      bulk::mbarrier_wait(&v_full[previous], static_cast<uint32_t>((i - 1) / L::stages) & 1);
      lane_log.add(SmEvent::VWaitEnd, i - 1);
      lane_log.add(SmEvent::TurnWaitBegin, i);
      turn_begin();
      lane_log.add(SmEvent::TurnWaitEnd, i);
      wgmma::fence();
      issue_scores(stage);
      issue_values(previous);
      // Logged after both batches: a store between them makes ptxas fence the wgmma pipeline (C7519).
      lane_log.add(SmEvent::ScoresIssued, i);
      lane_log.add(SmEvent::ValuesIssued, i - 1);
      turn_end();
      wgmma::wait_group<1>();
      wgmma::fence_operands(s);
      lane_log.add(SmEvent::ScoresDone, i);
      softmax(i);
      lane_log.add(SmEvent::SoftmaxEnd, i);
      wgmma::wait_group<0>();
      wgmma::fence_operands(o);
      lane_log.add(SmEvent::ValuesDone, i - 1);
      release_stage(previous);
      rescale_output();
      pack_probabilities();
    }
    const int last = (steps - 1) % L::stages;
    lane_log.add(SmEvent::VWaitBegin, steps - 1);
    bulk::mbarrier_wait(&v_full[last], static_cast<uint32_t>((steps - 1) / L::stages) & 1);
    lane_log.add(SmEvent::VWaitEnd, steps - 1);
    lane_log.add(SmEvent::TurnWaitBegin, steps);
    turn_begin();
    lane_log.add(SmEvent::TurnWaitEnd, steps);
    wgmma::fence();
    issue_values(last);
    lane_log.add(SmEvent::ValuesIssued, steps - 1);
    if constexpr (PingPong)
      if (consumer == 0) turn_end();  // consumer 1's last turn hands over to nobody
    wgmma::wait_group<0>();
    wgmma::fence_operands(o);
    lane_log.add(SmEvent::ValuesDone, steps - 1);
  } else if constexpr (PingPong) {
    // No visit: still take the one turn so consumer 1's opening arrival is matched.
    turn_begin();
    if (consumer == 0) turn_end();
  }

  // Epilogue: O = o / l through this warpgroup's own Q rows (its products are complete), then 16-byte stores.
  lane_log.add(SmEvent::EpilogueBegin, 0);
  unsigned char* q_bytes = base;
  T* o_head = static_cast<T*>(p.o) + (b * p.q_heads + h) * p.q_len * D;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float row_l = quad_sum(l[half]);
    const float inv = row_l > 0.f ? 1.f / row_l : 0.f;
    const int local = consumer * 64 + warp_in_group * 16 + half * 8 + lane / 4;
    if (row_l == 0.f && lane % 4 == 0 && row0 + local < p.q_len && p.empty_rows) atomicAdd(p.empty_rows, 1ull);
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb) {
      const uint32_t offset = chunk_offset(kBr, local, nb) + 4 * (lane % 4);
      *reinterpret_cast<uint32_t*>(q_bytes + offset) =
          pack2<T>(o[nb * 4 + 2 * half] * inv, o[nb * 4 + 2 * half + 1] * inv);
    }
  }
  __syncwarp();
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = lane; i < 16 * kChunks; i += 32) {
    const int r = consumer * 64 + warp_in_group * 16 + i / kChunks, c = i % kChunks;
    if (row0 + r < p.q_len)
      *reinterpret_cast<int4*>(o_head + (int64_t{row0} + r) * D + c * 8) =
          *reinterpret_cast<const int4*>(q_bytes + chunk_offset(kBr, r, c));
  }
  if constexpr (kTimeline) {
    lane_log.add(SmEvent::EpilogueEnd, 0);  // this thread's warp has issued its stores
    if (recorded && consumer == 0 && ctid == 0) {
      tl.calibration[2] = global_timer_ns();
      tl.calibration[3] = clock64();
    }
  }
#endif
}

}  // namespace flash_tc_ws_impl

namespace detail {

template <class T, int D>
void launch_flash_tc_ws_typed(const FlashTcParams& p, bool ping_pong, void* stream) {
  using namespace flash_tc_ws_impl;
  WsArgs args;
  args.p = p;
  const uint64_t q_dims[3] = {static_cast<uint64_t>(D), static_cast<uint64_t>(p.q_len),
                              static_cast<uint64_t>(p.batch * p.q_heads)};
  const uint64_t kv_dims[3] = {static_cast<uint64_t>(D), static_cast<uint64_t>(p.kv_len),
                               static_cast<uint64_t>(p.batch * p.kv_heads)};
  const uint64_t row = D * 2;
  args.q_map = make_tensor_map_3d_16bit(p.q, q_dims, row, row * p.q_len, 64, 64, true);
  args.k_map = make_tensor_map_3d_16bit(p.k, kv_dims, row, row * p.kv_len, 64, 64, true);
  args.v_map = make_tensor_map_3d_16bit(p.v, kv_dims, row, row * p.kv_len, 64, 64, true);
  constexpr int bytes = Layout<D>::shared_bytes;
  if (p.timeline) args.timeline = *p.timeline;
  auto kernel = p.timeline ? flash_tc_ws_kernel<T, D, true, true>
                : ping_pong ? flash_tc_ws_kernel<T, D, true> : flash_tc_ws_kernel<T, D, false>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>(p.tr), static_cast<unsigned>(p.q_heads), static_cast<unsigned>(p.batch));
  kernel<<<grid, kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(args);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace detail
}  // namespace attnscope::kernels
