// naive_attention.cu — S = scale·QKᵀ and O = PV through cuBLAS, and the masked row softmax S -> P.
//
// Contents
//   SoftmaxArgs, reductions         the softmax kernel's inputs and its warp/CTA reductions
//   softmax_rows_in_registers       each row read once into registers, written once
//   softmax_rows_streaming          any row length: an online (m, l) pass, then a write pass (re-read from L2)
//   softmax_rows_pipelined          rows bulk-copied into shared memory, several rows in flight per CTA
//   GEMM steps                      cuBLAS calls with the row-major <-> column-major mapping spelled out
//   validate / launch_*             the launch boundary
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cmath>

#include "kernels/common/bulk_copy.cuh"
#include "kernels/common/cublas_util.cuh"
#include "kernels/common/cuda_util.cuh"
#include "kernels/naive/naive_attention.hpp"

namespace attnscope::kernels {
namespace {

constexpr float kLog2e = 1.4426950408889634f;

struct SoftmaxArgs {
  const void* s;
  void* p;
  int64_t rows, q_len, kv_len;
  int64_t shift;     // query row i sits at absolute position i + shift (kv_len - q_len)
  MaskView mask;
  bool need_mask;    // false for a dense mask: no per-element test at all
  bool vector_ok;    // rows start 16-byte aligned (kv_len · sizeof(T) % 16 == 0)
  unsigned long long* empty_rows;  // optional counter of rows with no allowed key
  int64_t pipelined_grid_limit;    // NaiveParams::pipelined_grid_limit (host side only)
};

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Max / sum over the kWarps warps of a CTA through shared memory (kWarps == 1: the warp alone).
template <int kWarps, bool kMax>
__device__ __forceinline__ float group_reduce(float v, float* scratch) {
  v = kMax ? warp_max(v) : warp_sum(v);
  if constexpr (kWarps > 1) {
    const int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) scratch[warp] = v;
    __syncthreads();  // every warp's partial is in shared memory before anyone reads them
    v = scratch[0];
    for (int w = 1; w < kWarps; ++w) v = kMax ? fmaxf(v, scratch[w]) : v + scratch[w];
    __syncthreads();  // everyone has read the partials before the scratch is reused by the next reduction
  }
  return v;
}

// 16 bytes of storage <-> kWidth floats.
template <class T>
struct Vector16 {
  static constexpr int kWidth = 16 / sizeof(T);
  __device__ __forceinline__ static void unpack(const uint4& raw, float* dst) {
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < kWidth; ++i) dst[i] = to_float(e[i]);
  }
  // Streaming store (__stcs): P is written once and read only by the next GEMM.
  __device__ __forceinline__ static void store(T* dst, const float* src) {
    uint4 raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int i = 0; i < kWidth; ++i) e[i] = from_float<T>(src[i]);
    __stcs(reinterpret_cast<uint4*>(dst), raw);
  }
};

// Which masking code a softmax kernel carries. Dense and causal-only masks need no MaskView evaluation, so their
// kernels stay small (registers) and the benchmarked paths are as fast as the memory allows.
enum class MaskMode { Dense, Causal, General };

template <MaskMode kMode>
__device__ __forceinline__ bool key_allowed(const SoftmaxArgs& a, int64_t q_pos, int64_t key) {
  if constexpr (kMode == MaskMode::Dense) return true;
  else if constexpr (kMode == MaskMode::Causal) return key <= q_pos;
  else return a.mask.allowed(q_pos, key);
}

template <int kGroupWarps>
constexpr int register_cta_threads() { return kGroupWarps == 1 ? 256 : kGroupWarps * 32; }
// Dense/causal kernels are held to 64 registers (at least 1024 resident threads per SM: more rows in flight).
template <int kGroupWarps, MaskMode kMode>
constexpr int register_min_ctas() {
  return kMode == MaskMode::General ? 1 : (1024 / register_cta_threads<kGroupWarps>() > 0 ? 1024 / register_cta_threads<kGroupWarps>() : 1);
}

// REGISTERS variant. One row per group of kGroupWarps warps (kGroupWarps == 1: 8 rows per 256-thread CTA; else one
// row per CTA). Each thread holds kChunks 16-byte vectors of the row in registers, so S is read exactly once and P
// written once: the same bytes as a copy, which is the bandwidth target. Needs rows that start 16-byte aligned
// (kv_len · sizeof(T) a multiple of 16) and at most 16384 keys. All kChunks loads are issued before any value is used, so they are in
// flight together (converting each right after its load would make the thread wait for every load in turn).
template <class T, int kGroupWarps, int kChunks, MaskMode kMode>
__global__ void __launch_bounds__(register_cta_threads<kGroupWarps>(), (register_min_ctas<kGroupWarps, kMode>()))
    softmax_rows_in_registers(SoftmaxArgs a) {
  using V = Vector16<T>;
  constexpr int kW = V::kWidth;
  constexpr int kGroupThreads = kGroupWarps * 32;
  constexpr int kRowsPerCta = kGroupWarps == 1 ? 8 : 1;
  __shared__ float scratch[kGroupWarps];
  const int lane = threadIdx.x % kGroupThreads;
  const int64_t row = int64_t{blockIdx.x} * kRowsPerCta + threadIdx.x / kGroupThreads;
  if (kGroupWarps == 1 && row >= a.rows) return;  // single-warp groups share no barrier
  const T* s = static_cast<const T*>(a.s) + row * a.kv_len;
  T* p = static_cast<T*>(a.p) + row * a.kv_len;
  const int64_t q_pos = row % a.q_len + a.shift;

  // Issue every load of the row first (streaming: S is read once). A vector is wholly in or out of the row.
  uint4 raw[kChunks];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int64_t base = (int64_t{c} * kGroupThreads + lane) * kW;
    raw[c] = base < a.kv_len ? __ldcs(reinterpret_cast<const uint4*>(s + base)) : make_uint4(0, 0, 0, 0);
  }
  // Then convert; masked or out-of-range entries become -inf so they vanish in exp.
  float x[kChunks][kW];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int64_t base = (int64_t{c} * kGroupThreads + lane) * kW;
    V::unpack(raw[c], x[c]);
#pragma unroll
    for (int i = 0; i < kW; ++i)
      if (base >= a.kv_len || !key_allowed<kMode>(a, q_pos, base + i)) x[c][i] = -INFINITY;
  }
  // m = max_j S_ij over the allowed keys.
  float m = -INFINITY;
#pragma unroll
  for (int c = 0; c < kChunks; ++c)
#pragma unroll
    for (int i = 0; i < kW; ++i) m = fmaxf(m, x[c][i]);
  m = group_reduce<kGroupWarps, true>(m, scratch);
  // A fully masked row has no softmax: its P row is all zeros (the reference's definition).
  const bool empty_row = m == -INFINITY;
  if (empty_row && lane == 0 && a.empty_rows) atomicAdd(a.empty_rows, 1ull);
  // e_ij = exp(S_ij - m) (as 2^((S - m)·log2 e)); l = Σ_j e_ij.
  float l = 0.f;
  const float m_log2 = m * kLog2e;
#pragma unroll
  for (int c = 0; c < kChunks; ++c)
#pragma unroll
    for (int i = 0; i < kW; ++i) {
      x[c][i] = empty_row ? 0.f : exp2f(fmaf(x[c][i], kLog2e, -m_log2));
      l += x[c][i];
    }
  l = group_reduce<kGroupWarps, false>(l, scratch);
  // P_ij = e_ij / l.
  const float inv_l = empty_row ? 0.f : 1.f / l;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int64_t base = (int64_t{c} * kGroupThreads + lane) * kW;
#pragma unroll
    for (int i = 0; i < kW; ++i) x[c][i] *= inv_l;
    if (base < a.kv_len) V::store(p + base, x[c]);
  }
}

// STREAMING variant, for any row length: one row per 256-thread CTA, few registers (many rows in flight).
// Known slow (docs/journal/cuda-naive-flash.md): each load below is unpacked inside its bounds branch right after it is
// issued, so a thread's kBatch loads do not overlap; the registers variant's fix (issue all loads, then unpack)
// applies here too. It only runs for unaligned rows (kv_len · sizeof(T) not a multiple of 16) and rows beyond
// 16384 keys.
// Pass 1 reads the row in batches of kBatch vectors per thread (all loads of a batch in flight), keeping an
// online (m, l) per thread: m' = max(m, batch max), l' = l·exp(m − m') + Σ exp(x − m'). The CTA merges the
// threads' (m, l). Pass 2 reads the row again and writes P. The first read keeps S in L2 (default caching), so
// the second usually hits L2 and device memory sees one read and one write, as in a copy.
constexpr int kStreamThreads = 256;
template <class T, MaskMode kMode>
__global__ void __launch_bounds__(kStreamThreads, kMode == MaskMode::General ? 1 : 4)
    softmax_rows_streaming(SoftmaxArgs a) {
  using V = Vector16<T>;
  constexpr int kW = V::kWidth, kBatch = 4, kWarps = kStreamThreads / 32;
  __shared__ float scratch[kWarps];
  const int64_t row = blockIdx.x;
  const T* s = static_cast<const T*>(a.s) + row * a.kv_len;
  T* p = static_cast<T*>(a.p) + row * a.kv_len;
  const int64_t q_pos = row % a.q_len + a.shift;
  const int tid = threadIdx.x;
  // The row as kW-wide vectors when aligned; otherwise element by element (kW = 1 in the loops below).
  const int width = a.vector_ok ? kW : 1;
  const int64_t units = (a.kv_len + width - 1) / width;
  auto load_unit = [&](int64_t u, float* out, bool last_use) {
    const int64_t base = u * width;
    if (a.vector_ok) {
      const uint4 raw = last_use ? __ldcs(reinterpret_cast<const uint4*>(s + base))
                                 : __ldcg(reinterpret_cast<const uint4*>(s + base));
      V::unpack(raw, out);
    } else {
      out[0] = to_float(s[base]);
    }
#pragma unroll
    for (int i = 0; i < kW; ++i)
      if (i >= width || !key_allowed<kMode>(a, q_pos, base + i)) out[i] = -INFINITY;
  };

  // Pass 1: online (m, l) per thread.
  float m = -INFINITY, l = 0.f;
  for (int64_t u0 = tid; u0 < units; u0 += int64_t{kStreamThreads} * kBatch) {
    float x[kBatch][kW];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + int64_t{b} * kStreamThreads;
      if (u < units) load_unit(u, x[b], false);
      else
#pragma unroll
        for (int i = 0; i < kW; ++i) x[b][i] = -INFINITY;
    }
    float batch_max = -INFINITY;
#pragma unroll
    for (int b = 0; b < kBatch; ++b)
#pragma unroll
      for (int i = 0; i < kW; ++i) batch_max = fmaxf(batch_max, x[b][i]);
    if (batch_max == -INFINITY) continue;
    const float m_new = fmaxf(m, batch_max);
    float sum = 0.f;
#pragma unroll
    for (int b = 0; b < kBatch; ++b)
#pragma unroll
      for (int i = 0; i < kW; ++i) sum += exp2f((x[b][i] - m_new) * kLog2e);
    l = l * exp2f((m - m_new) * kLog2e) + sum;  // exp2(-inf) = 0 while nothing was accumulated
    m = m_new;
  }
  // Merge the threads: the row max, then each l_t rescaled by exp(m_t - m).
  const float row_m = group_reduce<kWarps, true>(m, scratch);
  const float mine = (m == -INFINITY) ? 0.f : l * exp2f((m - row_m) * kLog2e);
  const float row_l = group_reduce<kWarps, false>(mine, scratch);
  const bool empty_row = row_m == -INFINITY;
  if (empty_row && tid == 0 && a.empty_rows) atomicAdd(a.empty_rows, 1ull);
  const float inv_l = empty_row ? 0.f : 1.f / row_l;

  // Pass 2: P = exp(S - m) / l, written once.
  for (int64_t u0 = tid; u0 < units; u0 += int64_t{kStreamThreads} * kBatch) {
    float x[kBatch][kW];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + int64_t{b} * kStreamThreads;
      if (u < units) load_unit(u, x[b], true);
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + int64_t{b} * kStreamThreads;
      if (u >= units) continue;
#pragma unroll
      for (int i = 0; i < kW; ++i) x[b][i] = empty_row ? 0.f : exp2f((x[b][i] - row_m) * kLog2e) * inv_l;
      if (a.vector_ok) V::store(p + u * width, x[b]);
      else p[u] = from_float<T>(x[b][0]);
    }
  }
}

// PIPELINED variant (the default where it applies). The registers variant keeps at most 32 KB per SM in flight
// and each CTA alternates load, reduce and store, so the memory idles during the reductions (docs/journal/cuda-naive-flash.md).
// Here each CTA owns `stages` row buffers in shared memory: one thread starts the copy of a whole row
// with a single bulk copy (cp.async.bulk, the copy engine, completing on an mbarrier), so while the CTA reduces and
// writes row j, rows j+1 … j+stages−1 are already on their way. Bytes in flight per SM ≈ resident CTAs ·
// (stages − 1) · row bytes (≥ 64 KB at every row length that fits). Device memory sees S read once and P written
// once, like a copy. Three passes over the row in shared memory: m = max, l = Σ exp(S − m), P = exp(S − m) / l.
// A CTA takes rows blockIdx.x, blockIdx.x + gridDim.x, … (the grid is one wave of resident CTAs).
// Needs 16-byte-aligned rows and buffers (bulk copies move multiples of 16 bytes) and ≥ 2 row buffers in shared
// memory (fp16 rows up to ~56k keys, fp32 up to ~28k).
constexpr int kPipeMaxStages = 8;

// Copies a whole row (`bytes`, a multiple of 16, both addresses 16-byte aligned) into shared memory; the barrier's
// phase completes when it has landed (one arrival with the expected transaction bytes).
__device__ __forceinline__ void bulk_load_row(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  bulk::mbarrier_arrive_expect_tx(bar, bytes);
  bulk::bulk_load(dst, src, bytes, bar);
}

template <class T, int kThreads, MaskMode kMode>
__global__ void __launch_bounds__(kThreads) softmax_rows_pipelined(SoftmaxArgs a, int stages) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using V = Vector16<T>;
  constexpr int kW = V::kWidth, kWarps = kThreads / 32;
  extern __shared__ __align__(128) uint4 row_buffers[];  // stages × units 16-byte vectors
  __shared__ __align__(8) uint64_t row_landed[kPipeMaxStages];
  __shared__ float scratch[kWarps];
  const int tid = threadIdx.x;
  const int64_t units = a.kv_len / kW;  // vector_ok: kv_len · sizeof(T) is a multiple of 16
  const uint32_t row_bytes = static_cast<uint32_t>(units * 16);
  const T* s = static_cast<const T*>(a.s);
  T* p = static_cast<T*>(a.p);
  // The CTA's j-th row and where it lands.
  auto row_of = [&](int64_t j) { return int64_t{blockIdx.x} + j * gridDim.x; };
  auto start_load = [&](int64_t j) {  // thread 0 only
    const int64_t row = row_of(j);
    if (row >= a.rows) return;
    const int stage = static_cast<int>(j % stages);
    bulk_load_row(row_buffers + stage * units, s + row * a.kv_len, row_bytes, &row_landed[stage]);
  };
  if (tid == 0) {
    for (int st = 0; st < stages; ++st) bulk::mbarrier_init(&row_landed[st], 1);
    bulk::fence_mbarrier_init();  // barriers visible to the copy engine
    for (int j = 0; j < stages; ++j) start_load(j);
  }
  __syncthreads();  // barriers initialised before anyone waits on them

  for (int64_t j = 0;; ++j) {
    const int64_t row = row_of(j);
    if (row >= a.rows) break;
    const int stage = static_cast<int>(j % stages);
    bulk::mbarrier_wait(&row_landed[stage], static_cast<uint32_t>((j / stages) & 1));  // the stage's (j/stages)-th fill
    const uint4* buf = row_buffers + stage * units;
    const int64_t q_pos = row % a.q_len + a.shift;
    // Vector u of the row as floats; masked keys become -inf so they vanish in exp.
    auto load = [&](int64_t u, float* x) {
      V::unpack(buf[u], x);
      if constexpr (kMode != MaskMode::Dense) {
#pragma unroll
        for (int i = 0; i < kW; ++i)
          if (!key_allowed<kMode>(a, q_pos, u * kW + i)) x[i] = -INFINITY;
      }
    };
    // m = max_j S_ij over the allowed keys.
    float m = -INFINITY;
#pragma unroll 4
    for (int64_t u = tid; u < units; u += kThreads) {
      float x[kW];
      load(u, x);
#pragma unroll
      for (int i = 0; i < kW; ++i) m = fmaxf(m, x[i]);
    }
    m = group_reduce<kWarps, true>(m, scratch);
    // A fully masked row has no softmax: its P row is all zeros (the reference's definition).
    const bool empty_row = m == -INFINITY;
    if (empty_row && tid == 0 && a.empty_rows) atomicAdd(a.empty_rows, 1ull);
    const float m_log2 = empty_row ? 0.f : m * kLog2e;
    // l = Σ_j exp(S_ij − m), as 2^(S·log2 e − m·log2 e).
    float l = 0.f;
#pragma unroll 4
    for (int64_t u = tid; u < units; u += kThreads) {
      float x[kW];
      load(u, x);
#pragma unroll
      for (int i = 0; i < kW; ++i) l += exp2f(fmaf(x[i], kLog2e, -m_log2));
    }
    l = group_reduce<kWarps, false>(l, scratch);
    // P_ij = exp(S_ij − m) / l, written once (16-byte streaming stores).
    const float inv_l = empty_row ? 0.f : 1.f / l;
    T* p_row = p + row * a.kv_len;
#pragma unroll 4
    for (int64_t u = tid; u < units; u += kThreads) {
      float x[kW];
      load(u, x);
#pragma unroll
      for (int i = 0; i < kW; ++i) x[i] = exp2f(fmaf(x[i], kLog2e, -m_log2)) * inv_l;
      V::store(p_row + u * kW, x);
    }
    __syncthreads();  // every thread is done reading this stage's buffer before it is refilled
    if (tid == 0) {
      bulk::fence_proxy_async_shared();  // generic reads ordered before the async write
      start_load(j + stages);
    }
  }
#else
  __trap();  // bulk copies and transaction barriers are sm_90+; the host never launches this below sm_90
#endif
}

// Launch geometry of the pipelined kernel for a row of `row_bytes`: about 4 vectors per thread (32–512 threads),
// and as many row buffers as keep several CTAs per SM: up to 8 within 56 KB (4 CTAs per SM), else 3–4 within
// 113 KB (2 CTAs), else 2–3 in one CTA's 227 KB. 0 stages: the row does not fit twice in shared memory.
struct PipelineShape {
  int threads = 0, stages = 0;
};
PipelineShape pipeline_shape(int64_t row_bytes) {
  PipelineShape shape;
  const int64_t units = row_bytes / 16;
  shape.threads = 32;
  while (shape.threads < 512 && int64_t{shape.threads} * 4 < units) shape.threads *= 2;
  const int64_t fit4 = (56 << 10) / row_bytes, fit2 = (113 << 10) / row_bytes, fit1 = (226 << 10) / row_bytes;
  if (fit4 >= 3) shape.stages = static_cast<int>(std::min<int64_t>(fit4, kPipeMaxStages));
  else if (fit2 >= 3) shape.stages = static_cast<int>(std::min<int64_t>(fit2, 4));
  else if (fit1 >= 2) shape.stages = static_cast<int>(std::min<int64_t>(fit1, 3));
  return shape;
}

template <class T, int kThreads, MaskMode kMode>
void launch_pipelined(const SoftmaxArgs& a, int stages, cudaStream_t stream) {
  auto kernel = softmax_rows_pipelined<T, kThreads, kMode>;
  const size_t smem = static_cast<size_t>(stages) * static_cast<size_t>(a.kv_len) * sizeof(T);
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  int device = 0, sms = 0, per_sm = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, smem));
  int64_t wave = int64_t{std::max(per_sm, 1)} * sms;
  if (a.pipelined_grid_limit > 0) wave = std::min(wave, a.pipelined_grid_limit);
  const auto blocks = static_cast<unsigned>(std::min<int64_t>(a.rows, wave));
  kernel<<<blocks, kThreads, smem, stream>>>(a, stages);
  CUDA_CHECK_LAUNCH("softmax_rows_pipelined");
}

// The pipelined kernel uses Hopper's bulk copy engine (cp.async.bulk + transaction barriers): sm_90 and newer.
bool device_has_bulk_copy() {
  static const bool has = [] {
    int device = 0, major = 0;
    return cudaGetDevice(&device) == cudaSuccess &&
           cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major >= 9;
  }();
  return has;
}

template <class T, MaskMode kMode>
bool try_pipelined_softmax(const SoftmaxArgs& a, cudaStream_t stream) {
  if (!device_has_bulk_copy()) return false;
  const int64_t row_bytes = a.kv_len * static_cast<int64_t>(sizeof(T));
  const bool aligned = a.vector_ok && reinterpret_cast<uintptr_t>(a.s) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(a.p) % 16 == 0;
  if (!aligned) return false;
  const auto shape = pipeline_shape(row_bytes);
  if (shape.stages < 2) return false;
  switch (shape.threads) {
    case 32: launch_pipelined<T, 32, kMode>(a, shape.stages, stream); break;
    case 64: launch_pipelined<T, 64, kMode>(a, shape.stages, stream); break;
    case 128: launch_pipelined<T, 128, kMode>(a, shape.stages, stream); break;
    case 256: launch_pipelined<T, 256, kMode>(a, shape.stages, stream); break;
    default: launch_pipelined<T, 512, kMode>(a, shape.stages, stream); break;
  }
  return true;
}

template <class T, int kGroupWarps, int kChunks, MaskMode kMode>
bool try_register_softmax(const SoftmaxArgs& a, cudaStream_t stream) {
  constexpr int64_t kCover = int64_t{kGroupWarps} * 32 * kChunks * Vector16<T>::kWidth;
  if (a.kv_len > kCover) return false;
  constexpr int kThreads = register_cta_threads<kGroupWarps>();
  constexpr int kRowsPerCta = kGroupWarps == 1 ? 8 : 1;
  const int64_t blocks = (a.rows + kRowsPerCta - 1) / kRowsPerCta;
  softmax_rows_in_registers<T, kGroupWarps, kChunks, kMode>
      <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  CUDA_CHECK_LAUNCH("softmax_rows_in_registers");
  return true;
}

// Auto: the variant that measured fastest (docs/journal/cuda-naive-flash.md, run 4): for causal rows Registers at short rows,
// Pipelined at long ones. Run 4's "dense" rows were the General (per-element term test) kernels: the mask "dense" was one Dense term, so
// need_mask was set. MaskSpec::view() now gives no terms for a union containing dense, so dense rows take the
// Dense kernels, which do less work than causal ones; they follow causal's choice: Pipelined from 32 KB rows up,
// Registers below; unaligned rows, or rows beyond both, use Streaming.
constexpr int64_t kPipelinedMinRowBytes = 32 << 10;

template <class T, MaskMode kMode>
void softmax_dispatch(const SoftmaxArgs& a, SoftmaxVariant variant, cudaStream_t stream) {
  const bool pipelined_wins = a.kv_len * int64_t{sizeof(T)} >= kPipelinedMinRowBytes;
  if ((variant == SoftmaxVariant::Pipelined || (variant == SoftmaxVariant::Auto && pipelined_wins)) &&
      try_pipelined_softmax<T, kMode>(a, stream))
    return;
  // Registers: the smallest configuration whose registers cover the row, so short rows keep many rows in flight.
  // A multi-warp row keeps 16 floats per thread (kM vectors: 4 fp32, 2 fp16/bf16), which fits the 64-register
  // budget without spilling (ptxas -v); 32 warps x 32 threads x 16 = 16384 keys at most.
  constexpr int kM = 16 / Vector16<T>::kWidth;
  if (variant != SoftmaxVariant::Streaming && a.vector_ok &&
      (try_register_softmax<T, 1, 2, kMode>(a, stream) || try_register_softmax<T, 1, 4, kMode>(a, stream) ||
       try_register_softmax<T, 4, kM, kMode>(a, stream) || try_register_softmax<T, 8, kM, kMode>(a, stream) ||
       try_register_softmax<T, 16, kM, kMode>(a, stream) || try_register_softmax<T, 32, kM, kMode>(a, stream)))
    return;
  // Rows beyond the register cover: Pipelined (faster than Streaming, docs/journal/cuda-naive-flash.md) where it fits.
  if (variant != SoftmaxVariant::Streaming && try_pipelined_softmax<T, kMode>(a, stream)) return;
  softmax_rows_streaming<T, kMode><<<static_cast<unsigned>(a.rows), kStreamThreads, 0, stream>>>(a);
  CUDA_CHECK_LAUNCH("softmax_rows_streaming");
}

template <class T>
void softmax_for_mask(const SoftmaxArgs& a, SoftmaxVariant variant, cudaStream_t stream) {
  if (!a.need_mask) softmax_dispatch<T, MaskMode::Dense>(a, variant, stream);
  else if (a.mask.term_count == 0) softmax_dispatch<T, MaskMode::Causal>(a, variant, stream);  // causal alone
  else softmax_dispatch<T, MaskMode::General>(a, variant, stream);
}

cublasHandle_t bind(const NaiveParams& p, void* stream) {
  auto handle = static_cast<cublasHandle_t>(p.cublas);
  check_cublas(cublasSetStream(handle, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  return handle;
}

void require_valid(const NaiveParams& p) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
}

}  // namespace

uint64_t naive_workspace_bytes(const AttentionSpec& spec) {
  return 2ull * static_cast<uint64_t>(spec.batch * spec.q_heads) * static_cast<uint64_t>(spec.q_len) *
         static_cast<uint64_t>(spec.kv_len) * static_cast<uint64_t>(dtype_bytes(spec.dtype));
}

std::string validate(const NaiveParams& p) {
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1)
    return "naive attention: every size must be >= 1";
  if (p.q_heads % p.kv_heads != 0)
    return "naive attention: query heads " + std::to_string(p.q_heads) + " is not a multiple of KV heads " +
           std::to_string(p.kv_heads);
  if (p.q_len > p.kv_len) return "naive attention: query length exceeds key length";
  if (p.head_dim > 256) return "naive attention: head dim " + std::to_string(p.head_dim) + " exceeds 256";
  const int64_t group_rows = p.q_heads / p.kv_heads * p.q_len;
  if (group_rows > INT_MAX || p.kv_len > INT_MAX)
    return "naive attention: a GEMM dimension exceeds cuBLAS's 32-bit limit";
  if (p.batch * p.q_heads * p.q_len > INT_MAX) return "naive attention: too many score rows for one launch";
  if (!p.q || !p.k || !p.v || !p.s || !p.p || !p.o) return "naive attention: a device buffer is missing";
  if (!p.cublas) return "naive attention: no cuBLAS handle";
  if (!std::isfinite(p.scale) || p.scale <= 0) return "naive attention: the softmax scale must be positive";
  return {};
}

// Row-major X[r][c] is column-major Xᵀ. So row-major S = Q Kᵀ (g·Nq x Nk) is column-major Sᵀ = K Qᵀ (Nk x g·Nq):
// A = K (stored column-major d x Nk, transposed -> Nk x d), B = Q (column-major d x g·Nq, as is).
void launch_naive_scores(const NaiveParams& p, void* stream) {
  require_valid(p);
  auto handle = bind(p, stream);
  const int64_t g = p.q_heads / p.kv_heads;
  const int m = static_cast<int>(p.kv_len), n = static_cast<int>(g * p.q_len), k = static_cast<int>(p.head_dim);
  const float alpha = p.scale, beta = 0.f;
  const auto t = cuda_type(p.dtype);
  check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha,  //
                                          p.k, t, k, p.kv_len * p.head_dim,                   // K of one KV head
                                          p.q, t, k, g * p.q_len * p.head_dim,                // Q of its g heads
                                          &beta, p.s, t, m, g * p.q_len * p.kv_len,           // S of those heads
                                          static_cast<int>(p.batch * p.kv_heads), CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT),
               "cublasGemmStridedBatchedEx (S = scale·QKᵀ)");
}

void launch_masked_softmax(const NaiveParams& p, void* stream, SoftmaxVariant variant) {
  require_valid(p);
  SoftmaxArgs a{};
  a.s = p.s;
  a.p = p.p;
  a.rows = p.batch * p.q_heads * p.q_len;
  a.q_len = p.q_len;
  a.kv_len = p.kv_len;
  a.shift = p.kv_len - p.q_len;
  a.mask = p.mask;
  a.need_mask = p.mask.term_count > 0 || p.mask.causal;
  a.vector_ok = (p.kv_len * dtype_bytes(p.dtype)) % 16 == 0;
  a.empty_rows = p.empty_rows;
  a.pipelined_grid_limit = p.pipelined_grid_limit;
  if (variant == SoftmaxVariant::Auto) variant = p.softmax;
  dispatch_dtype(p.dtype, [&](auto tag) {
    softmax_for_mask<decltype(tag)>(a, variant, static_cast<cudaStream_t>(stream));
  });
}

// Row-major O = P V (g·Nq x d) is column-major Oᵀ = Vᵀ Pᵀ (d x g·Nq): A = V as stored (column-major d x Nk),
// B = P as stored (column-major Nk x g·Nq).
void launch_naive_output(const NaiveParams& p, void* stream) {
  require_valid(p);
  auto handle = bind(p, stream);
  const int64_t g = p.q_heads / p.kv_heads;
  const int m = static_cast<int>(p.head_dim), n = static_cast<int>(g * p.q_len), k = static_cast<int>(p.kv_len);
  const float alpha = 1.f, beta = 0.f;
  const auto t = cuda_type(p.dtype);
  check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha,  //
                                          p.v, t, m, p.kv_len * p.head_dim,                   // V of one KV head
                                          p.p, t, k, g * p.q_len * p.kv_len,                  // P of its g heads
                                          &beta, p.o, t, m, g * p.q_len * p.head_dim,         // O of those heads
                                          static_cast<int>(p.batch * p.kv_heads), CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT),
               "cublasGemmStridedBatchedEx (O = PV)");
}

void launch_naive(const NaiveParams& p, void* stream) {
  launch_naive_scores(p, stream);
  launch_masked_softmax(p, stream);
  launch_naive_output(p, stream);
}

}  // namespace attnscope::kernels
