// flash_fp32.cu — FlashAttention-2 forward in fp32, written to be read next to the papers.
//
// Notation (Dao 2023): Br x Bc tiles, Tr = ceil(N_q / Br) Q tiles, Tc = ceil(N_k / Bc) K/V tiles. For each query
// row i the CTA keeps the running max m_i, the running normaliser l_i = Σ_j exp(S_ij − m_i) and the unnormalised
// output acc_i = Σ_j exp(S_ij − m_i) V_j. A new tile with row max m̃ updates them by
//   m_new = max(m_i, m̃),  rescale = exp(m_i − m_new),
//   l_i ← l_i · rescale + Σ_j exp(S_ij − m_new),   acc_i ← acc_i · rescale + Σ_j exp(S_ij − m_new) V_j,
// and after the last tile O_i = acc_i / l_i.
//
// Thread layout (256 threads = 16 x 16): thread (ty, tx) owns rows ty·4 .. ty·4+3 of the Q tile, score columns
// tx, tx+16, tx+32, tx+48 of each K/V tile and output columns tx + 16·j. A row's 16 owners are 16 consecutive
// lanes of one warp, so row reductions are 4 shuffle steps.
#include "core/block_mask.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_fp32/flash_fp32.hpp"
#include "kernels/common/split_merge.hpp"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerThread = kFlashBr / 16;  // 4
constexpr int kColsPerThread = kFlashBc / 16;  // 4

// Shared memory: Q tile [Br][D+1], K tile [Bc][D+1] (the +1 keeps a warp's 16 different K rows in 16 banks),
// V tile [Bc][D], P tile [Br][Bc+1].
constexpr int shared_floats(int d) {
  return kFlashBr * (d + 1) + kFlashBc * (d + 1) + kFlashBc * d + kFlashBr * (kFlashBc + 1);
}

// Max / sum over the 16 lanes that own one row (lanes differ in bits 0..3).
__device__ __forceinline__ float row_max16(float v) {
  for (int o = 8; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float row_sum16(float v) {
  for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// kD: head_dim rounded up to 32, 64 or 128 (tiles are zero-padded past the real head_dim).
// kTrace: the instrumented launch; a separate instantiation, so the benchmarked kernel carries no tracing code.
template <int kD, bool kTrace>
__global__ void __launch_bounds__(kThreads) flash_fp32_forward(FlashParams p, FlashTraceBuffers trace) {
  constexpr int kOutCols = kD / 16;  // output columns per thread
  extern __shared__ float smem[];
  float* Qs = smem;                              // [Br][kD+1]
  float* Ks = Qs + kFlashBr * (kD + 1);          // [Bc][kD+1]
  float* Vs = Ks + kFlashBc * (kD + 1);          // [Bc][kD]
  float* Ps = Vs + kFlashBc * kD;                // [Br][Bc+1]

  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int head = blockIdx.y, batch = blockIdx.z;
  const int tc = p.tc();
  // Unsplit: Q tile x over every K/V tile. Split: work item x, K/V tiles [visit_begin, visit_end) of its Q tile.
  const WorkItem item = p.items ? p.items[blockIdx.x] : WorkItem{static_cast<int32_t>(blockIdx.x), 0, tc, -1};
  const int q_tile = item.q_tile;
  const int64_t kv_head = head / (p.q_heads / p.kv_heads);  // GQA: query heads share a KV head in groups
  const int64_t d = p.head_dim;
  const int64_t row0 = int64_t{q_tile} * kFlashBr;
  const int64_t shift = p.kv_len - p.q_len;  // query row i sits at position i + shift
  const float* q = p.q + ((batch * p.q_heads + head) * p.q_len) * d;
  const float* k = p.k + ((batch * p.kv_heads + kv_head) * p.kv_len) * d;
  const float* v = p.v + ((batch * p.kv_heads + kv_head) * p.kv_len) * d;
  const int64_t cta = q_tile + int64_t{gridDim.x} * (head + int64_t{gridDim.y} * batch);

  // Load Q_i (Br x d) once; rows past N and columns past d are zero so they add nothing to any dot product.
  for (int e = tid; e < kFlashBr * kD; e += kThreads) {
    const int r = e / kD, c = e % kD;
    Qs[r * (kD + 1) + c] = (row0 + r < p.q_len && c < d) ? q[(row0 + r) * d + c] : 0.f;
  }

  // Online-softmax state of this thread's rows, replicated across the row's 16 owners.
  float m[kRowsPerThread], l[kRowsPerThread], acc[kRowsPerThread][kOutCols];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
#pragma unroll
    for (int j = 0; j < kOutCols; ++j) acc[i][j] = 0.f;
  }
  // Probe slot of each of this thread's rows (-1: not probed). Only (batch 0, head 0) is probed.
  int probe_slot[kRowsPerThread];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    probe_slot[i] = -1;
    if (kTrace && batch == 0 && head == 0)
      for (int s = 0; s < trace.probe_count; ++s)
        if (trace.probe_rows[s] == row0 + ty * kRowsPerThread + i) probe_slot[i] = s;
  }
  if (kTrace && tid == 0) trace.cta_sm[cta] = sm_id();
  int visits = 0;

  for (int kt = item.visit_begin; kt < item.visit_end; ++kt) {
    // The block mask decides per tile: Empty -> skip entirely (no loads, no math); Full -> no masking.
    const auto cls = static_cast<TileKind>(p.tile_classes[int64_t{q_tile} * tc + kt]);
    if (cls == TileKind::Empty) continue;
    const int64_t key0 = int64_t{kt} * kFlashBc;
    // The last K/V tile may run past N: its missing keys are masked even when the block mask calls the
    // (clipped) tile full.
    const bool per_element = cls == TileKind::Partial || key0 + kFlashBc > p.kv_len;
    // Barrier: every thread has finished reading the previous K_j, V_j, P tiles (and Q_i's load has landed)
    // before this tile overwrites them.
    __syncthreads();
    uint64_t t_start = 0;
    if (kTrace && tid == 0) t_start = global_timer_ns();

    // Load K_j and V_j (Bc x d), zero past N and past d.
    for (int e = tid; e < kFlashBc * kD; e += kThreads) {
      const int r = e / kD, c = e % kD;
      const bool in = key0 + r < p.kv_len && c < d;
      Ks[r * (kD + 1) + c] = in ? k[(key0 + r) * d + c] : 0.f;
      Vs[r * kD + c] = in ? v[(key0 + r) * d + c] : 0.f;
    }
    // Barrier: K_j and V_j are complete before any thread reads rows other threads loaded.
    __syncthreads();

    // S_ij = scale · Q_i K_jᵀ for this thread's 4 x 4 entries.
    float s[kRowsPerThread][kColsPerThread];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) s[i][j] = 0.f;
#pragma unroll 8
    for (int c = 0; c < kD; ++c) {
      float qv[kRowsPerThread], kv[kColsPerThread];
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) qv[i] = Qs[(ty * kRowsPerThread + i) * (kD + 1) + c];
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) kv[j] = Ks[(tx + 16 * j) * (kD + 1) + c];
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) s[i][j] = fmaf(qv[i], kv[j], s[i][j]);
    }
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      const int64_t q_pos = row0 + ty * kRowsPerThread + i + shift;
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        s[i][j] *= p.scale;
        // Partial (or edge) tile only: masked pairs and keys past N get -inf, i.e. weight exp(-inf) = 0.
        if (per_element) {
          const int64_t key = key0 + tx + 16 * j;
          if (key >= p.kv_len || !p.mask.allowed(q_pos, key)) s[i][j] = -INFINITY;
        }
      }
    }

    float rescale[kRowsPerThread];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      // m̃ = rowmax(S_ij) over the tile; m_new = max(m_i, m̃).
      float tile_max = s[i][0];
#pragma unroll
      for (int j = 1; j < kColsPerThread; ++j) tile_max = fmaxf(tile_max, s[i][j]);
      const float m_new = fmaxf(m[i], row_max16(tile_max));
      // rescale = exp(m_i − m_new): shrinks what was accumulated under the old max. While the row has seen only
      // masked keys (m_new = −inf) nothing is accumulated and the factor is 1.
      rescale[i] = m_new == -INFINITY ? 1.f : expf(m[i] - m_new);
      // P̃_ij = exp(S_ij − m_new) (0 for masked pairs); the tile's row sum updates l_i = l_i · rescale + Σ_j P̃_ij.
      float row_sum = 0.f;
#pragma unroll
      for (int j = 0; j < kColsPerThread; ++j) {
        const float pij = m_new == -INFINITY ? 0.f : expf(s[i][j] - m_new);
        Ps[(ty * kRowsPerThread + i) * (kFlashBc + 1) + tx + 16 * j] = pij;
        row_sum += pij;
      }
      l[i] = l[i] * rescale[i] + row_sum16(row_sum);
      m[i] = m_new;
    }
    // Barrier: the whole P̃ tile is in shared memory before each thread multiplies its rows by V_j, which needs
    // the columns other threads wrote.
    __syncthreads();

    // acc_i = acc_i · rescale + P̃_ij V_j.
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      const float* prow = Ps + (ty * kRowsPerThread + i) * (kFlashBc + 1);
#pragma unroll
      for (int j = 0; j < kOutCols; ++j) acc[i][j] *= rescale[i];
#pragma unroll 4
      for (int c = 0; c < kFlashBc; ++c) {
        const float pc = prow[c];
#pragma unroll
        for (int j = 0; j < kOutCols; ++j) acc[i][j] = fmaf(pc, Vs[c * kD + tx + 16 * j], acc[i][j]);
      }
    }

    if constexpr (kTrace) {
      // Probes: (m, l, rescale, ‖acc‖) of the followed rows after this tile; ‖acc‖ needs all 16 owners' columns.
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) {
        float sq = 0.f;
#pragma unroll
        for (int j = 0; j < kOutCols; ++j) sq += acc[i][j] * acc[i][j];
        sq = row_sum16(sq);
        if (probe_slot[i] >= 0 && tx == 0) {
          const int slot = probe_slot[i];
          float* state = trace.probe_state + (int64_t{slot} * tc + visits) * 4;
          state[0] = m[i];
          state[1] = l[i];
          state[2] = rescale[i];
          state[3] = sqrtf(sq);
          trace.probe_tile[int64_t{slot} * tc + visits] = kt;
          trace.probe_steps[slot] = visits + 1;
        }
      }
      // Barrier (tracing only): the tile's end time is when every thread has finished its P̃ V update.
      __syncthreads();
      if (tid == 0) {
        const int64_t slot = cta * tc + visits;
        trace.visit_tile[slot] = kt;
        trace.visit_start[slot] = t_start;
        trace.visit_end[slot] = global_timer_ns();
      }
    }
    ++visits;
  }
  if (kTrace && tid == 0) trace.visit_count[cta] = visits;
  if (!kTrace && item.partial >= 0) {
    // A split piece: O_p = acc / l, m in base 2 (m · log2 e, the merge's units), l, per row; merged afterwards.
    const int64_t slot_floats = int64_t{kFlashBr} * (d + 2);
    float* slot = p.partials + ((int64_t{batch} * p.q_heads + head) * p.partial_slots + item.partial) * slot_floats;
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
      const int local = ty * kRowsPerThread + i;
      const float inv_l = l[i] > 0.f ? 1.f / l[i] : 0.f;
      if (tx == 0) {
        slot[kFlashBr * d + local] = m[i] * 1.4426950408889634f;
        slot[kFlashBr * d + kFlashBr + local] = l[i];
      }
#pragma unroll
      for (int j = 0; j < kOutCols; ++j) {
        const int col = tx + 16 * j;
        if (col < d) slot[local * d + col] = acc[i][j] * inv_l;
      }
    }
    return;
  }
  if (p.empty_rows && tx == 0)
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i)
      if (row0 + ty * kRowsPerThread + i < p.q_len && l[i] == 0.f) atomicAdd(p.empty_rows, 1ull);

  // O_i = acc_i / l_i, written once. A row that saw no allowed key (l_i = 0) is defined as zeros.
  float* o = p.o + ((batch * p.q_heads + head) * p.q_len) * d;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int64_t row = row0 + ty * kRowsPerThread + i;
    if (row >= p.q_len) continue;
    const float inv_l = l[i] > 0.f ? 1.f / l[i] : 0.f;
#pragma unroll
    for (int j = 0; j < kOutCols; ++j) {
      const int col = tx + 16 * j;
      if (col < d) o[row * d + col] = acc[i][j] * inv_l;
    }
    // lse_i = m_i + log l_i: with it the backward pass recomputes P_ij = exp(S_ij − lse_i) without m and l.
    if (p.lse && tx == 0)
      p.lse[(batch * p.q_heads + head) * p.q_len + row] = l[i] > 0.f ? m[i] + logf(l[i]) : -INFINITY;
  }
}

template <int kD, bool kTrace>
void launch_instance(const FlashParams& p, cudaStream_t stream) {
  const int bytes = shared_floats(kD) * static_cast<int>(sizeof(float));
  auto kernel = flash_fp32_forward<kD, kTrace>;
  // Above 48 KB a block gets dynamic shared memory only after raising the kernel's limit.
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>(p.items ? p.item_count : p.tr()), static_cast<unsigned>(p.q_heads),
                  static_cast<unsigned>(p.batch));
  FlashTraceBuffers trace = p.trace ? *p.trace : FlashTraceBuffers{};
  kernel<<<grid, kThreads, bytes, stream>>>(p, trace);
  CUDA_CHECK_LAUNCH("flash_fp32_forward");
}

template <bool kTrace>
void launch_for_head_dim(const FlashParams& p, cudaStream_t stream) {
  if (p.head_dim <= 32) launch_instance<32, kTrace>(p, stream);
  else if (p.head_dim <= 64) launch_instance<64, kTrace>(p, stream);
  else launch_instance<128, kTrace>(p, stream);
}

int padded_head_dim(int64_t d) { return d <= 32 ? 32 : d <= 64 ? 64 : 128; }

}  // namespace

int flash_shared_bytes(int64_t head_dim) {
  return shared_floats(padded_head_dim(head_dim)) * static_cast<int>(sizeof(float));
}

uint64_t flash_trace_bytes(const FlashParams& p, int probe_count) {
  const uint64_t ctas = static_cast<uint64_t>(p.ctas()), tc = static_cast<uint64_t>(p.tc());
  return ctas * (sizeof(uint32_t) + sizeof(int32_t)) + ctas * tc * (sizeof(int32_t) + 2 * sizeof(uint64_t)) +
         static_cast<uint64_t>(probe_count) * (2 * sizeof(int32_t) + tc * (sizeof(int32_t) + 4 * sizeof(float)));
}

std::string validate(const FlashParams& p) {
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1)
    return "flash fp32: every size must be >= 1";
  if (p.head_dim > kFlashMaxHeadDim)
    return "flash fp32: head dim " + std::to_string(p.head_dim) + " exceeds " + std::to_string(kFlashMaxHeadDim) +
           " (the K/V tiles would not fit in shared memory); use the naive path";
  if (p.q_heads % p.kv_heads != 0) return "flash fp32: query heads must be a multiple of KV heads";
  if (p.q_len > p.kv_len) return "flash fp32: query length exceeds key length";
  if (p.q_heads > 65535 || p.batch > 65535) return "flash fp32: at most 65535 heads and 65535 batches per launch";
  if (p.tr() > INT32_MAX / 2) return "flash fp32: too many Q tiles";
  if (!p.q || !p.k || !p.v || !p.o) return "flash fp32: a device buffer is missing";
  if (!p.tile_classes) return "flash fp32: no block mask (core build_block_mask with 64 x 64 tiles, copied to the device)";
  if (!(p.scale > 0.f)) return "flash fp32: the softmax scale must be positive";
  int device = 0, optin = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (flash_shared_bytes(p.head_dim) > optin)
    return "flash fp32: needs " + std::to_string(flash_shared_bytes(p.head_dim)) +
           " bytes of shared memory per block; this GPU allows " + std::to_string(optin);
  if (p.items) {
    if (p.item_count < 1 || p.item_count > INT32_MAX / 2) return "flash fp32: a split schedule needs 1..2^30 work items";
    if (p.trace) return "flash fp32: traced launches run one CTA per Q tile (unsplit)";
    if (p.split_count > 0 && (!p.split_tiles || !p.partials || p.partial_slots < p.split_count))
      return "flash fp32: a split schedule needs its split tiles and the partials' workspace";
  }
  if (p.trace) {
    const auto& t = *p.trace;
    if (!t.cta_sm || !t.visit_count || !t.visit_tile || !t.visit_start || !t.visit_end)
      return "flash fp32: a trace buffer is missing";
    if (t.probe_count < 0 || t.probe_count > kFlashMaxProbes)
      return "flash fp32: at most " + std::to_string(kFlashMaxProbes) + " probe rows";
    if (t.probe_count > 0 && (!t.probe_rows || !t.probe_steps || !t.probe_tile || !t.probe_state))
      return "flash fp32: a probe buffer is missing";
  }
  return {};
}

void launch_flash_fp32(const FlashParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  auto s = static_cast<cudaStream_t>(stream);
  if (p.trace) launch_for_head_dim<true>(p, s);
  else launch_for_head_dim<false>(p, s);
  if (p.items && p.split_count > 0) {  // the pieces' partials become O
    SplitMergeParams m;
    m.dtype = DType::F32;
    m.batch = p.batch;
    m.q_heads = p.q_heads;
    m.q_len = p.q_len;
    m.head_dim = p.head_dim;
    m.br = kFlashBr;
    m.split_tiles = p.split_tiles;
    m.split_count = p.split_count;
    m.partial_slots = p.partial_slots;
    m.partials = p.partials;
    m.o = p.o;
    m.empty_rows = p.empty_rows;
    launch_split_merge(m, stream);
  }
}

}  // namespace attnscope::kernels
