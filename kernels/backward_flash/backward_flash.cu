// backward_flash.cu — FlashAttention-2 backward in fp32 (see backward_flash.hpp for the math and the launches).
//
// Thread layout of the main kernel (256 threads = 16 × 16, as the forward kernel kernels/flash_fp32): thread
// (ty, tx) owns
//   - for S, P, dP and dS of a 64 × 64 tile: rows ty·4 .. ty·4+3, columns tx, tx+16, tx+32, tx+48;
//   - for dK_j and dV_j (64 keys × kD columns, in registers for the CTA's whole life): keys ty·4 .. ty·4+3,
//     columns tx + 16·c;
//   - for the dQ_i update (64 rows × kD columns, added to global memory at once): rows ty·4 .. ty·4+3, columns
//     tx + 16·c.
// The P and dS tiles go through shared memory because dV/dK read them by column (Pᵀ, dSᵀ) and dQ by row, each
// entry needed by threads other than the one that computed it.
#include "core/block_mask.hpp"
#include "kernels/backward_flash/backward_flash.hpp"
#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kBr = kFlashBackwardBr, kBc = kFlashBackwardBc;
constexpr int kRowsPerThread = kBr / 16;  // 4
constexpr int kColsPerThread = kBc / 16;  // 4
constexpr int kPrepassRowsPerCta = kThreads / 32;  // one warp per row

// Shared memory: K_j, V_j, Q_i, dO_i as [64][kD+1] (the +1 puts the 16 different rows a half-warp reads in S = QKᵀ
// and dP = dO Vᵀ into 16 banks), P and dS as [64][kBc+1], lse and D of the Q tile's rows.
constexpr int shared_floats(int d) { return 4 * 64 * (d + 1) + 2 * kBr * (kBc + 1) + 2 * kBr; }

// D_i = Σ_x dO_ix · O_ix, one warp per query row.
__global__ void __launch_bounds__(kThreads) backward_row_dots(const float* __restrict__ o,
                                                                const float* __restrict__ d_out, float* row_dot,
                                                                int64_t rows, int64_t head_dim) {
  const int64_t row = int64_t{blockIdx.x} * kPrepassRowsPerCta + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps leave together: the shuffles below see full warps
  float sum = 0.f;
  for (int64_t x = threadIdx.x % 32; x < head_dim; x += 32) sum += d_out[row * head_dim + x] * o[row * head_dim + x];
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (threadIdx.x % 32 == 0) row_dot[row] = sum;
}

template <int kD>
__global__ void __launch_bounds__(kThreads) flash_fp32_backward(FlashBackwardParams p) {
  constexpr int kLd = kD + 1;
  constexpr int kOutCols = kD / 16;  // dK/dV/dQ columns per thread
  extern __shared__ float smem[];
  float* Ks = smem;                   // [kBc][kLd]
  float* Vs = Ks + kBc * kLd;         // [kBc][kLd]
  float* Qs = Vs + kBc * kLd;         // [kBr][kLd]
  float* dOs = Qs + kBr * kLd;        // [kBr][kLd]
  float* Ps = dOs + kBr * kLd;        // [kBr][kBc+1]
  float* dSs = Ps + kBr * (kBc + 1);  // [kBr][kBc+1]
  float* lse_s = dSs + kBr * (kBc + 1);  // [kBr]
  float* D_s = lse_s + kBr;              // [kBr]

  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t kv_tile = blockIdx.x, kv_head = blockIdx.y, batch = blockIdx.z;
  const int64_t d = p.head_dim, tc = p.tc(), tr = p.tr();
  const int64_t group = p.q_heads / p.kv_heads;
  const int64_t key0 = kv_tile * kBc;
  const int64_t shift = p.kv_len - p.q_len;  // query row i sits at position i + shift
  const int64_t kv_offset = ((batch * p.kv_heads + kv_head) * p.kv_len) * d;

  // K_j and V_j (Bc × d), once for the CTA; keys past N and columns past d are zero, so they add nothing.
  for (int e = tid; e < kBc * kD; e += kThreads) {
    const int r = e / kD, c = e % kD;
    const bool in = key0 + r < p.kv_len && c < d;
    Ks[r * kLd + c] = in ? p.k[kv_offset + (key0 + r) * d + c] : 0.f;
    Vs[r * kLd + c] = in ? p.v[kv_offset + (key0 + r) * d + c] : 0.f;
  }
  float dk[kRowsPerThread][kOutCols], dv[kRowsPerThread][kOutCols];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int c = 0; c < kOutCols; ++c) dk[i][c] = dv[i][c] = 0.f;
  // The last K/V tile may run past N: its missing keys are masked even where the block mask calls the tile full.
  const bool key_edge = key0 + kBc > p.kv_len;

  for (int64_t head = kv_head * group; head < (kv_head + 1) * group; ++head) {
    const int64_t row_base = (batch * p.q_heads + head) * p.q_len;  // (batch, head, row 0) as a row index
    for (int64_t q_tile = 0; q_tile < tr; ++q_tile) {
      // The block mask decides per tile: Empty -> skipped (no loads, no math); Full -> no per-pair test.
      const auto cls = static_cast<TileKind>(p.tile_classes[q_tile * tc + kv_tile]);
      if (cls == TileKind::Empty) continue;
      const bool per_element = cls == TileKind::Partial || key_edge;
      const int64_t row0 = q_tile * kBr;
      // Barrier: every thread has finished reading the previous Q_i, dO_i, P and dS tiles (and the K_j, V_j loads
      // have landed) before they are overwritten.
      __syncthreads();
      for (int e = tid; e < kBr * kD; e += kThreads) {
        const int r = e / kD, c = e % kD;
        const bool in = row0 + r < p.q_len && c < d;
        Qs[r * kLd + c] = in ? p.q[(row_base + row0 + r) * d + c] : 0.f;
        dOs[r * kLd + c] = in ? p.d_out[(row_base + row0 + r) * d + c] : 0.f;
      }
      if (tid < kBr) {
        // lse = +inf makes P = exp(S − lse) = 0 for rows past N and for fully masked rows (lse = −inf there, and
        // S − lse would be +inf or NaN); D = 0 keeps dS = P ∘ (dP − D) = 0 on those rows.
        const bool row_in = row0 + tid < p.q_len;
        const float row_lse = row_in ? p.lse[row_base + row0 + tid] : -INFINITY;
        lse_s[tid] = row_lse == -INFINITY ? INFINITY : row_lse;
        D_s[tid] = row_in ? p.row_dot[row_base + row0 + tid] : 0.f;
      }
      // Barrier: Q_i, dO_i, lse and D are complete before threads read rows other threads loaded.
      __syncthreads();

      // S = Q_i K_jᵀ and dP = dO_i V_jᵀ for this thread's 4 × 4 entries (same c order and fmaf as the forward, so
      // S is the forward's S bit for bit).
      float s[kRowsPerThread][kColsPerThread], dp[kRowsPerThread][kColsPerThread];
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) s[i][j] = dp[i][j] = 0.f;
#pragma unroll 4
      for (int c = 0; c < kD; ++c) {
        float qv[kRowsPerThread], gv[kRowsPerThread], kv[kColsPerThread], vv[kColsPerThread];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
          qv[i] = Qs[(ty * kRowsPerThread + i) * kLd + c];
          gv[i] = dOs[(ty * kRowsPerThread + i) * kLd + c];
        }
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) {
          kv[j] = Ks[(tx + 16 * j) * kLd + c];
          vv[j] = Vs[(tx + 16 * j) * kLd + c];
        }
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
          for (int j = 0; j < kColsPerThread; ++j) {
            s[i][j] = fmaf(qv[i], kv[j], s[i][j]);
            dp[i][j] = fmaf(gv[i], vv[j], dp[i][j]);
          }
      }
      // P = exp(scale·S − lse) (0 for masked pairs), dS = P ∘ (dP − D); both to shared memory.
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) {
        const int r = ty * kRowsPerThread + i;
        const int64_t q_pos = row0 + r + shift;
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) {
          const int c = tx + 16 * j;
          const int64_t key = key0 + c;
          const bool allowed = !per_element || (key < p.kv_len && p.mask.allowed(q_pos, key));
          const float pij = allowed ? expf(s[i][j] * p.scale - lse_s[r]) : 0.f;
          Ps[r * (kBc + 1) + c] = pij;
          dSs[r * (kBc + 1) + c] = pij == 0.f ? 0.f : pij * (dp[i][j] - D_s[r]);
        }
      }
      // Barrier: the whole P and dS tiles are in shared memory before they are read by column and by row.
      __syncthreads();

      // dV_j += Pᵀ dO_i and dK_j += dSᵀ Q_i (the scale of dK is applied once, at the end).
#pragma unroll 2
      for (int r = 0; r < kBr; ++r) {
        float pk[kRowsPerThread], sk[kRowsPerThread];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
          pk[i] = Ps[r * (kBc + 1) + ty * kRowsPerThread + i];
          sk[i] = dSs[r * (kBc + 1) + ty * kRowsPerThread + i];
        }
#pragma unroll
        for (int c = 0; c < kOutCols; ++c) {
          const float g = dOs[r * kLd + tx + 16 * c], q = Qs[r * kLd + tx + 16 * c];
#pragma unroll
          for (int i = 0; i < kRowsPerThread; ++i) {
            dv[i][c] = fmaf(pk[i], g, dv[i][c]);
            dk[i][c] = fmaf(sk[i], q, dk[i][c]);
          }
        }
      }

      // dQ_i += scale · dS K_j, added into global memory: the CTAs of the other K/V tiles add to the same rows.
#pragma unroll 1
      for (int i = 0; i < kRowsPerThread; ++i) {
        const int r = ty * kRowsPerThread + i;
        if (row0 + r >= p.q_len) break;  // rows past N (the rest of this thread's rows are past N too)
        float acc[kOutCols];
#pragma unroll
        for (int c = 0; c < kOutCols; ++c) acc[c] = 0.f;
#pragma unroll 4
        for (int key = 0; key < kBc; ++key) {
          const float ds = dSs[r * (kBc + 1) + key];
#pragma unroll
          for (int c = 0; c < kOutCols; ++c) acc[c] = fmaf(ds, Ks[key * kLd + tx + 16 * c], acc[c]);
        }
        float* dq_row = p.dq + (row_base + row0 + r) * d;
#pragma unroll
        for (int c = 0; c < kOutCols; ++c) {
          const int col = tx + 16 * c;
          if (col < d) atomicAdd(dq_row + col, p.scale * acc[c]);
        }
      }
    }
  }

  // dK_j = scale · Σ dSᵀ Q and dV_j = Σ Pᵀ dO over every visited tile of every query head of the group: written once.
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int64_t key = key0 + ty * kRowsPerThread + i;
    if (key >= p.kv_len) continue;
#pragma unroll
    for (int c = 0; c < kOutCols; ++c) {
      const int col = tx + 16 * c;
      if (col >= d) continue;
      p.dk[kv_offset + key * d + col] = p.scale * dk[i][c];
      p.dv[kv_offset + key * d + col] = dv[i][c];
    }
  }
}

template <int kD>
void launch_main(const FlashBackwardParams& p, cudaStream_t stream) {
  const int bytes = shared_floats(kD) * static_cast<int>(sizeof(float));
  auto kernel = flash_fp32_backward<kD>;
  // Above 48 KB a block gets dynamic shared memory only after raising the kernel's limit.
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>(p.tc()), static_cast<unsigned>(p.kv_heads), static_cast<unsigned>(p.batch));
  kernel<<<grid, kThreads, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH("flash_fp32_backward");
}

int padded_head_dim(int64_t d) { return d <= 32 ? 32 : d <= 64 ? 64 : 128; }

}  // namespace

uint64_t flash_backward_workspace_bytes(const AttentionSpec& spec) {
  const uint64_t rows = static_cast<uint64_t>(spec.batch * spec.q_heads * spec.q_len);
  const uint64_t tiles = static_cast<uint64_t>((spec.q_len + kBr - 1) / kBr) *
                         static_cast<uint64_t>((spec.kv_len + kBc - 1) / kBc);
  return 2 * rows * sizeof(float) + tiles;
}

int flash_backward_shared_bytes(int64_t head_dim) {
  return shared_floats(padded_head_dim(head_dim)) * static_cast<int>(sizeof(float));
}

std::string validate(const FlashBackwardParams& p) {
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1)
    return "flash backward: every size must be >= 1";
  if (p.head_dim > kFlashBackwardMaxHeadDim)
    return "flash backward: head dim " + std::to_string(p.head_dim) + " exceeds " +
           std::to_string(kFlashBackwardMaxHeadDim) + " (K_j, V_j, Q_i and dO_i would not fit in shared memory); use "
           "the naive backward";
  if (p.q_heads % p.kv_heads != 0) return "flash backward: query heads must be a multiple of KV heads";
  if (p.q_len > p.kv_len) return "flash backward: query length exceeds key length";
  if (p.kv_heads > 65535 || p.batch > 65535) return "flash backward: at most 65535 KV heads and 65535 batches per launch";
  if (p.tc() > INT32_MAX) return "flash backward: too many K/V tiles for one launch";
  if ((p.batch * p.q_heads * p.q_len + kPrepassRowsPerCta - 1) / kPrepassRowsPerCta > INT32_MAX)
    return "flash backward: too many query rows for one launch";
  if (!p.q || !p.k || !p.v || !p.o || !p.d_out || !p.lse || !p.row_dot || !p.dq || !p.dk || !p.dv)
    return "flash backward: a device buffer is missing";
  if (!p.tile_classes)
    return "flash backward: no block mask (core build_block_mask with 64 x 64 tiles, copied to the device)";
  if (!(p.scale > 0.f)) return "flash backward: the softmax scale must be positive";
  int device = 0, optin = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (flash_backward_shared_bytes(p.head_dim) > optin)
    return "flash backward: needs " + std::to_string(flash_backward_shared_bytes(p.head_dim)) +
           " bytes of shared memory per block; this GPU allows " + std::to_string(optin);
  return {};
}

void launch_flash_backward(const FlashBackwardParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  auto s = static_cast<cudaStream_t>(stream);
  // 1. D = rowsum(dO ∘ O).
  const int64_t rows = p.batch * p.q_heads * p.q_len;
  backward_row_dots<<<static_cast<unsigned>((rows + kPrepassRowsPerCta - 1) / kPrepassRowsPerCta), kThreads, 0, s>>>(
      p.o, p.d_out, p.row_dot, rows, p.head_dim);
  CUDA_CHECK_LAUNCH("backward_row_dots");
  // 2. dQ = 0: the main kernel only adds to it.
  CUDA_CHECK(cudaMemsetAsync(p.dq, 0, static_cast<size_t>(rows * p.head_dim) * sizeof(float), s));
  // 3. The main loop, one CTA per (K/V tile, KV head, batch).
  const int kd = padded_head_dim(p.head_dim);
  if (kd == 32) launch_main<32>(p, s);
  else if (kd == 64) launch_main<64>(p, s);
  else launch_main<128>(p, s);
}

}  // namespace attnscope::kernels
