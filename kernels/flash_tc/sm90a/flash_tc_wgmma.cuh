// flash_tc_wgmma.cuh — the Hopper (sm_90a) path of the tensor-core flash kernel: the same schedule, data flow and
// online softmax as flash_tc_kernel.cuh, with the products on warpgroup MMAs (wgmma) instead of mma.sync.
//
// Per CTA (Q tile of 128 rows, query head, sequence): two warpgroups of 4 warps, warpgroup g owns rows
// [64g, 64g + 64). Shared memory holds Q and two stages of (K, V) in wgmma's 128-byte-swizzle layout: each tile is
// split into 64-column halves (128-byte rows), half h of a tile with R rows at h·R·128 bytes, row r at r·128,
// 16-byte chunk c at (c ^ (r & 7))·16 — the same XOR swizzle as the mma.sync kernel inside each 1024-byte atom.
//   S = Q·Kᵀ     wgmma m64n64k16, A (Q) and B (K, K-major) by descriptor: D/16 k-steps, fp32 S in 32 registers
//   softmax      as in flash_tc_kernel.cuh (rows g = lane/4 and g + 8 of each warp's 16; 4 lanes per row)
//   O += P·V     wgmma m64nDk16, A = P from registers (the S accumulators repacked), B = V N-major (transposed)
// Loads are the same 16-byte cp.async two-stage pipeline; before wgmma reads what cp.async wrote, every thread
// issues fence.proxy.async (generic-proxy writes → async proxy) ahead of the barrier.
// No tracing here: instrumented launches use the mma.sync kernel.
#pragma once
#include <cuda_runtime.h>

#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_tc/flash_tc.hpp"
#include "kernels/common/tensor_core.cuh"
#include "kernels/common/wgmma_ops.cuh"

namespace attnscope::kernels {
namespace flash_tc_wgmma_impl {

using namespace attnscope::kernels::tc;

constexpr float kLog2e = 1.4426950408889634f;
constexpr int kBr = kFlashTcBr, kBc = kFlashTcBc;
constexpr int kThreads = 256;  // two warpgroups

template <int D>
constexpr int shared_bytes = (kBr * D + 2 * 2 * kBc * D) * 2;

// Byte offset of 16-byte chunk c (0 .. D/8 − 1) of row r in a tile of `rows` rows (layout in the header comment).
__device__ __forceinline__ uint32_t chunk_offset(int rows, int r, int c) {
  return static_cast<uint32_t>((c / 8) * rows * 128 + r * 128 + (((c % 8) ^ (r & 7)) * 16));
}

template <class T, int D>
__device__ __forceinline__ void load_rows(uint32_t dst, int rows, const T* head, const int32_t* keys, int64_t first,
                                          int64_t len, int tid) {
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = tid; i < rows * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const int64_t row = keys ? int64_t{keys[r]} : first + r;
    const bool valid = row >= 0 && row < len;
    cp_async_16(dst + chunk_offset(rows, r, c), valid ? head + row * D + c * 8 : head, valid);
  }
}


template <class T, int D>
__global__ void __launch_bounds__(kThreads, 2) flash_tc_wgmma_kernel(const FlashTcParams p) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __trap();  // built only for sm_90a; the host never launches it elsewhere
#else
  constexpr int kNbO = D / 8;
  extern __shared__ __align__(1024) unsigned char shared_raw[];
  const uint32_t q_base = smem_address(shared_raw);
  const uint32_t stage_base = q_base + kBr * D * 2;
  constexpr uint32_t kStageBytes = 2 * kBc * D * 2;  // K then V

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, group = warp / 4, warp_in_group = warp % 4;
  // Unsplit: the longest (causal: the last) Q tiles first. Split: work item x (the items are longest first).
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
  const float scale_log2 = p.scale * kLog2e;

  auto load_visit = [&](int stage, const KernelVisit& visit) {
    const int32_t* keys = p.gathered ? p.keys + visit.key_begin : nullptr;
    const uint32_t k_dst = stage_base + stage * kStageBytes;
    load_rows<T, D>(k_dst, kBc, k_head, keys, visit.key_begin, p.kv_len, tid);
    load_rows<T, D>(k_dst + kBc * D * 2, kBc, v_head, keys, visit.key_begin, p.kv_len, tid);
  };

  load_rows<T, D>(q_base, kBr, q_head, nullptr, row0, p.q_len, tid);
  if (v_begin < v_end) load_visit(0, p.visits[v_begin]);
  cp_async_commit();

  float acc[kNbO * 4];
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
#pragma unroll
  for (int i = 0; i < kNbO * 4; ++i) acc[i] = 0.f;

  // Descriptors. K-major operands (Q as A, K as B): rows 128 bytes apart, 8-row atoms 1024 apart (stride byte
  // offset), the leading byte offset unused with 128-byte swizzle; a k-step of 16 elements is 32 bytes inside the
  // row, the next 64 columns are the next half. V (B, N-major): 8-key atoms 1024 apart along K (stride byte offset),
  // 64-column halves kBc·128 bytes apart along N (leading byte offset); a k-step of 16 keys is two atoms.
  const uint32_t q_group = q_base + group * 64 * 128;

  for (int vi = v_begin; vi < v_end; ++vi) {
    const int stage = (vi - v_begin) & 1;
    const KernelVisit visit = p.visits[vi];
    cp_async_wait<0>();
    wgmma::fence_proxy_async();
    __syncthreads();
    if (vi + 1 < v_end) load_visit(stage ^ 1, p.visits[vi + 1]);
    cp_async_commit();
    const uint32_t k_tile = stage_base + stage * kStageBytes, v_tile = k_tile + kBc * D * 2;

    float s[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) s[i] = 0.f;
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint32_t column = (kk % 4) * 32;  // 16 elements = 32 bytes into the 128-byte row
      const uint64_t desc_q = wgmma::descriptor(q_group + (kk / 4) * kBr * 128 + column, 16, 1024);
      const uint64_t desc_k = wgmma::descriptor(k_tile + (kk / 4) * kBc * 128 + column, 16, 1024);
      wgmma::wgmma_ss<T, 64>(s, desc_q, desc_k);
    }
    wgmma::commit_group();
    wgmma::wait_group<0>();

    if (visit.mask_index >= 0) {
      const uint64_t* bits = p.bits + int64_t{visit.mask_index} * kBr;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const uint64_t word = bits[group * 64 + warp_in_group * 16 + half * 8 + lane / 4];
#pragma unroll
        for (int nb = 0; nb < 8; ++nb)
#pragma unroll
          for (int e = 2 * half; e < 2 * half + 2; ++e) {
            const int col = nb * 8 + 2 * (lane % 4) + (e % 2);
            if (((word >> col) & 1u) == 0) s[nb * 4 + e] = -INFINITY;
          }
      }
    }

#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float row_max = -INFINITY;
#pragma unroll
      for (int nb = 0; nb < 8; ++nb) row_max = fmaxf(row_max, fmaxf(s[nb * 4 + 2 * half], s[nb * 4 + 2 * half + 1]));
      const float m_new = fmaxf(m[half], quad_max(row_max) * scale_log2);
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      const float r = m_new == -INFINITY ? 1.f : fast_exp2(m[half] - m_new);
      float sum = 0.f;
#pragma unroll
      for (int nb = 0; nb < 8; ++nb)
#pragma unroll
        for (int e = 2 * half; e < 2 * half + 2; ++e) {
          const float pe = fast_exp2(fmaf(s[nb * 4 + e], scale_log2, -m_use));
          s[nb * 4 + e] = pe;
          sum += pe;
        }
      l[half] = l[half] * r + sum;
      m[half] = m_new;
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb) {
        acc[nb * 4 + 2 * half] *= r;
        acc[nb * 4 + 2 * half + 1] *= r;
      }
    }

    // P in the storage type, packed before the fence so no register the MMAs read changes after it.
    uint32_t pa[kBc / 16][4];
#pragma unroll
    for (int j = 0; j < kBc / 16; ++j) {
      pa[j][0] = pack2<T>(s[8 * j + 0], s[8 * j + 1]);
      pa[j][1] = pack2<T>(s[8 * j + 2], s[8 * j + 3]);
      pa[j][2] = pack2<T>(s[8 * j + 4], s[8 * j + 5]);
      pa[j][3] = pack2<T>(s[8 * j + 6], s[8 * j + 7]);
    }
    wgmma::fence();
#pragma unroll
    for (int j = 0; j < kBc / 16; ++j) {
      const uint64_t desc_v = wgmma::descriptor(v_tile + j * 2 * 1024, kBc * 128, 1024);
      wgmma::wgmma_rs<T, D>(acc, pa[j], desc_v);
    }
    wgmma::commit_group();
    wgmma::wait_group<0>();
  }

  // Epilogue: O = acc / l through this warp's own Q rows (same layout), then 16-byte stores.
  cp_async_wait<0>();
  __syncthreads();
  // The item's slot is read again here rather than kept live through the loop.
  const int32_t partial = p.items ? p.items[blockIdx.x].partial : -1;
  if (partial >= 0) {  // a split piece: (O_p, m_p, l_p) as floats, merged afterwards (split_merge.hpp)
    const int64_t slot_floats = int64_t{kBr} * (D + 2);
    float* slot = p.partials + ((b * p.q_heads + h) * p.partial_slots + partial) * slot_floats;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float row_l = quad_sum(l[half]);
      const float inv = row_l > 0.f ? 1.f / row_l : 0.f;
      const int local = group * 64 + warp_in_group * 16 + half * 8 + lane / 4;
      if (lane % 4 == 0) {
        slot[int64_t{kBr} * D + local] = m[half];  // base 2, as the merge expects
        slot[int64_t{kBr} * D + kBr + local] = row_l;
      }
#pragma unroll
      for (int nb = 0; nb < kNbO; ++nb)
        *reinterpret_cast<float2*>(slot + local * D + nb * 8 + 2 * (lane % 4)) =
            make_float2(acc[nb * 4 + 2 * half] * inv, acc[nb * 4 + 2 * half + 1] * inv);
    }
    return;
  }
  T* qs = reinterpret_cast<T*>(shared_raw);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float row_l = quad_sum(l[half]);
    const float inv = row_l > 0.f ? 1.f / row_l : 0.f;
    const int local = group * 64 + warp_in_group * 16 + half * 8 + lane / 4;
    if (row_l == 0.f && lane % 4 == 0 && row0 + local < p.q_len && p.empty_rows) atomicAdd(p.empty_rows, 1ull);
#pragma unroll
    for (int nb = 0; nb < kNbO; ++nb) {
      const uint32_t offset = chunk_offset(kBr, local, nb) + 4 * (lane % 4);
      *reinterpret_cast<uint32_t*>(reinterpret_cast<unsigned char*>(qs) + offset) =
          pack2<T>(acc[nb * 4 + 2 * half] * inv, acc[nb * 4 + 2 * half + 1] * inv);
    }
  }
  __syncwarp();
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = lane; i < 16 * kChunks; i += 32) {
    const int r = group * 64 + warp_in_group * 16 + i / kChunks, c = i % kChunks;
    if (row0 + r < p.q_len)
      *reinterpret_cast<int4*>(o_head + (row0 + r) * D + c * 8) =
          *reinterpret_cast<const int4*>(reinterpret_cast<const unsigned char*>(qs) + chunk_offset(kBr, r, c));
  }
#endif
}

}  // namespace flash_tc_wgmma_impl

namespace detail {

template <class T, int D>
void launch_flash_tc_wgmma_typed(const FlashTcParams& p, void* stream) {
  auto kernel = flash_tc_wgmma_impl::flash_tc_wgmma_kernel<T, D>;
  constexpr int bytes = flash_tc_wgmma_impl::shared_bytes<D>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>(p.grid_x()), static_cast<unsigned>(p.q_heads), static_cast<unsigned>(p.batch));
  kernel<<<grid, flash_tc_wgmma_impl::kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(p);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace detail
}  // namespace attnscope::kernels
