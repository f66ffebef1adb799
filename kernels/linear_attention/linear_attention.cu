// linear_attention.cu — see linear_attention.hpp for the algorithm and the contract.
#include "kernels/linear_attention/linear_attention.hpp"

#include <algorithm>
#include <cmath>

#include "core/beyond_runs.hpp"
#include "core/linear_attention.hpp"
#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kStateRows = 32;      // rows of S one block of the state kernel owns
constexpr int kKeysPerStage = 32;   // keys staged in shared memory at a time by the state kernel
constexpr int kQueryRows = 16;      // queries one block of the read kernels answers at a time
constexpr int kMaxChunk = 256;      // keys per chunk the causal read kernel holds weights for
constexpr int kPairsPerThread = kStateRows * kLinearAttentionMaxHeadDim / kThreads;  // (row, column) pairs of S

struct Shape {
  int64_t batch, q_heads, kv_heads, q_len, kv_len, d;
  __host__ __device__ int64_t group() const { return q_heads / kv_heads; }
  __host__ __device__ int64_t state_floats() const { return d * d + d; }  // S then z
};

__host__ __device__ constexpr int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ constexpr int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

__device__ __forceinline__ float phi(float x) { return x > 0.f ? x + 1.f : __expf(x); }

// S and z sums of one (batch, KV head) over keys [blockIdx.y · keys_per_block, …) for rows [32·blockIdx.z, +32) of
// S. per_slot: write the block's sums to its own slot (chunk blockIdx.y); else add them into the one state with
// atomics (the non-causal key slices). Slots: [B·Hkv][slots][d² + d].
template <class T>
__global__ void __launch_bounds__(kThreads) state_sums(const T* __restrict__ k, const T* __restrict__ v, float* states,
                                                        Shape s, int64_t keys_per_block, bool per_slot) {
  __shared__ float fk[kKeysPerStage][kStateRows];
  __shared__ float vs[kKeysPerStage][kLinearAttentionMaxHeadDim];
  const int64_t bg = blockIdx.x, d = s.d;
  const int64_t j0 = int64_t{blockIdx.y} * keys_per_block, j1 = min64(s.kv_len, j0 + keys_per_block);
  const int64_t a0 = int64_t{blockIdx.z} * kStateRows;
  const int rows = static_cast<int>(min64(kStateRows, d - a0));
  const T* kb = k + bg * s.kv_len * d;
  const T* vb = v + bg * s.kv_len * d;
  const int t = threadIdx.x;
  float acc[kPairsPerThread];
  int row_of[kPairsPerThread], col_of[kPairsPerThread];
#pragma unroll
  for (int m = 0; m < kPairsPerThread; ++m) {
    const int idx = t + kThreads * m;
    acc[m] = 0.f;
    row_of[m] = idx / static_cast<int>(d);
    col_of[m] = idx - row_of[m] * static_cast<int>(d);
  }
  float z = 0.f;  // threads t < rows: z of row a0 + t
  for (int64_t js = j0; js < j1; js += kKeysPerStage) {
    const int keys = static_cast<int>(min64(kKeysPerStage, j1 - js));
    for (int e = t; e < keys * kStateRows; e += kThreads) {
      const int jj = e / kStateRows, a = e % kStateRows;
      fk[jj][a] = a < rows ? phi(to_float(kb[(js + jj) * d + a0 + a])) : 0.f;
    }
    for (int e = t; e < keys * d; e += kThreads) {
      const int jj = e / static_cast<int>(d), c = e - jj * static_cast<int>(d);
      vs[jj][c] = to_float(vb[(js + jj) * d + c]);
    }
    __syncthreads();
    for (int jj = 0; jj < keys; ++jj) {
#pragma unroll
      for (int m = 0; m < kPairsPerThread; ++m)
        if (row_of[m] < rows) acc[m] += fk[jj][row_of[m]] * vs[jj][col_of[m]];
      if (t < rows) z += fk[jj][t];
    }
    __syncthreads();
  }
  float* state = states + (per_slot ? (bg * gridDim.y + blockIdx.y) : bg) * s.state_floats();
#pragma unroll
  for (int m = 0; m < kPairsPerThread; ++m) {
    if (row_of[m] >= rows) continue;
    float* at = state + (a0 + row_of[m]) * d + col_of[m];
    if (per_slot) *at = acc[m];
    else atomicAdd(at, acc[m]);
  }
  if (t < rows) {
    float* at = state + d * d + a0 + t;
    if (per_slot) *at = z;
    else atomicAdd(at, z);
  }
}

// In place, per (batch, KV head) and state element: slot c becomes the sum of slots 0 … c−1 (the state before chunk
// c); the sums of every chunk are no longer needed after this.
__global__ void __launch_bounds__(kThreads) exclusive_prefix(float* states, Shape s, int64_t chunks) {
  const int64_t e = int64_t{blockIdx.y} * kThreads + threadIdx.x;
  if (e >= s.state_floats()) return;
  float* base = states + int64_t{blockIdx.x} * chunks * s.state_floats() + e;
  float running = 0.f;
  for (int64_t c = 0; c < chunks; ++c) {
    const float mine = base[c * s.state_floats()];
    base[c * s.state_floats()] = running;
    running += mine;
  }
}

// Queries [i0, i1) of query head (blockIdx.x % H) of batch (blockIdx.x / H), 16 at a time:
//   Oᵢ = (φ(qᵢ)ᵀS + Σ_{j in [c0, pos_i]} wᵢⱼ vⱼ) / (φ(qᵢ)ᵀz + Σ_{j in [c0, pos_i]} wᵢⱼ),  wᵢⱼ = φ(qᵢ)·φ(kⱼ)
// with (S, z) the state of `state_slot` and [c0, c1) the keys of this block's chunk (empty when non-causal).
// Non-causal: one block per 16 queries (blockIdx.y), every key in S. Causal: one block per chunk (blockIdx.y).
template <class T, bool kCausal>
__global__ void __launch_bounds__(kThreads) read_out(const T* __restrict__ q, const T* __restrict__ k,
                                                      const T* __restrict__ v, const float* __restrict__ states,
                                                      T* __restrict__ o, Shape s, int64_t chunk, int64_t chunks) {
  __shared__ float fq[kQueryRows][kLinearAttentionMaxHeadDim];
  __shared__ float w[kCausal ? kQueryRows : 1][kCausal ? kMaxChunk : 1];
  __shared__ float den[kQueryRows];
  const int64_t d = s.d, bh = blockIdx.x, b = bh / s.q_heads, h = bh % s.q_heads, g = h / s.group();
  const int64_t bg = b * s.kv_heads + g, offset = s.kv_len - s.q_len;
  int64_t i0, i1, c0 = 0, c1 = 0;
  const float* state;
  if (kCausal) {
    c0 = int64_t{blockIdx.y} * chunk;
    c1 = min64(s.kv_len, c0 + chunk);
    i0 = max64(0, c0 - offset);
    i1 = min64(s.q_len, c1 - offset);
    state = states + (bg * chunks + blockIdx.y) * s.state_floats();
  } else {
    i0 = int64_t{blockIdx.y} * kQueryRows;
    i1 = min64(s.q_len, i0 + kQueryRows);
    state = states + bg * s.state_floats();
  }
  const float* z = state + d * d;
  const T* kb = k + bg * s.kv_len * d;
  const T* vb = v + bg * s.kv_len * d;
  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  for (int64_t r0 = i0; r0 < i1; r0 += kQueryRows) {
    const int rows = static_cast<int>(min64(kQueryRows, i1 - r0));
    for (int e = t; e < rows * d; e += kThreads) {
      const int r = e / static_cast<int>(d), a = e - r * static_cast<int>(d);
      fq[r][a] = phi(to_float(q[((bh * s.q_len) + r0 + r) * d + a]));
    }
    __syncthreads();
    const int keys = static_cast<int>(c1 - c0);
    if (kCausal) {  // w for every (query, chunk key), 0 past the query's position
      for (int e = t; e < rows * keys; e += kThreads) {
        const int r = e / keys, jj = e - r * keys;
        float dot = 0.f;
        if (c0 + jj <= r0 + r + offset) {
          const T* kr = kb + (c0 + jj) * d;
          for (int64_t x = 0; x < d; ++x) dot += fq[r][x] * phi(to_float(kr[x]));
        }
        w[r][jj] = dot;
      }
      __syncthreads();  // every weight written before the sums read them
    }
    for (int r = warp; r < rows; r += kThreads / 32) {  // denominators, a warp per query
      float sum = 0.f;
      for (int64_t a = lane; a < d; a += 32) sum += fq[r][a] * z[a];
      if (kCausal)
        for (int jj = lane; jj < keys; jj += 32) sum += w[r][jj];
      for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      if (lane == 0) den[r] = sum;
    }
    __syncthreads();
    for (int e = t; e < rows * d; e += kThreads) {
      const int r = e / static_cast<int>(d), c = e - r * static_cast<int>(d);
      float acc = 0.f;
      for (int64_t a = 0; a < d; ++a) acc += fq[r][a] * state[a * d + c];
      if (kCausal)
        for (int jj = 0; jj < keys; ++jj) acc += w[r][jj] * to_float(vb[(c0 + jj) * d + c]);
      o[((bh * s.q_len) + r0 + r) * d + c] = from_float<T>(acc / den[r]);
    }
    __syncthreads();  // fq, w and den are refilled by the next 16 queries
  }
}

Shape shape_of(const AttentionSpec& spec) {
  return {spec.batch, spec.q_heads, spec.kv_heads, spec.q_len, spec.kv_len, spec.head_dim};
}

int64_t chunks_of(const AttentionSpec& spec, int64_t chunk) { return (spec.kv_len + chunk - 1) / chunk; }

// Launches one evaluation: Q, K, V on the device -> O.
template <class T>
void launch_all(const AttentionSpec& spec, int64_t chunk, int sm_count, const void* q, const void* k, const void* v,
                float* states, void* o, cudaStream_t stream) {
  const Shape s = shape_of(spec);
  const dim3 threads(kThreads);
  const unsigned row_tiles = static_cast<unsigned>((s.d + kStateRows - 1) / kStateRows);
  const unsigned groups = static_cast<unsigned>(s.batch * s.kv_heads);
  const T* qt = static_cast<const T*>(q);
  const T* kt = static_cast<const T*>(k);
  const T* vt = static_cast<const T*>(v);
  T* ot = static_cast<T*>(o);
  if (spec.mask.causal) {
    const int64_t chunks = chunks_of(spec, chunk);
    state_sums<T><<<dim3(groups, static_cast<unsigned>(chunks), row_tiles), threads, 0, stream>>>(kt, vt, states, s,
                                                                                                  chunk, true);
    CUDA_CHECK_LAUNCH("linear attention: chunk state sums");
    exclusive_prefix<<<dim3(groups, static_cast<unsigned>((s.state_floats() + kThreads - 1) / kThreads)), threads, 0,
                       stream>>>(states, s, chunks);
    CUDA_CHECK_LAUNCH("linear attention: prefix over chunks");
    read_out<T, true><<<dim3(static_cast<unsigned>(s.batch * s.q_heads), static_cast<unsigned>(chunks)), threads, 0,
                        stream>>>(qt, kt, vt, states, ot, s, chunk, chunks);
    CUDA_CHECK_LAUNCH("linear attention: causal read-out");
  } else {
    // Key slices so that about two waves of blocks sum the state; at least 64 keys per slice.
    const int64_t wanted = std::max<int64_t>(1, 2 * int64_t{sm_count} / std::max<int64_t>(1, groups * row_tiles));
    const int64_t slices = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, s.kv_len / 64));
    const int64_t per_slice = (s.kv_len + slices - 1) / slices;
    CUDA_CHECK(cudaMemsetAsync(states, 0, static_cast<size_t>(groups * s.state_floats()) * sizeof(float), stream));
    state_sums<T><<<dim3(groups, static_cast<unsigned>((s.kv_len + per_slice - 1) / per_slice), row_tiles), threads, 0,
                    stream>>>(kt, vt, states, s, per_slice, false);
    CUDA_CHECK_LAUNCH("linear attention: state sums");
    read_out<T, false><<<dim3(static_cast<unsigned>(s.batch * s.q_heads),
                              static_cast<unsigned>((s.q_len + kQueryRows - 1) / kQueryRows)),
                         threads, 0, stream>>>(qt, kt, vt, states, ot, s, 1, 1);
    CUDA_CHECK_LAUNCH("linear attention: read-out");
  }
}

}  // namespace

std::string linear_attention_cuda_unsupported(const AttentionSpec& spec) {
  if (std::string why = linear_attention_unsupported(spec); !why.empty()) return why;
  if (spec.head_dim > kLinearAttentionMaxHeadDim)
    return "linear attention (CUDA) supports head dim up to " + std::to_string(kLinearAttentionMaxHeadDim);
  return "";
}

uint64_t linear_attention_cuda_workspace_bytes(const AttentionSpec& spec, int64_t chunk) {
  const Shape s = shape_of(spec);
  const int64_t slots = spec.mask.causal ? chunks_of(spec, std::max<int64_t>(1, chunk)) : 1;
  return static_cast<uint64_t>(s.batch * s.kv_heads * slots * s.state_floats()) * sizeof(float);
}

SequenceRunResult run_linear_attention_cuda(const LinearAttentionRunRequest& request, const std::string& device,
                                            void* stream_ptr) {
  SequenceRunResult r;
  r.backend = "cuda";
  r.device = device;
  if (!request.inputs) {
    r.error = "no inputs given";
    return r;
  }
  const AttentionInputs& in = *request.inputs;
  const AttentionSpec& spec = in.spec;
  if (std::string why = linear_attention_cuda_unsupported(spec); !why.empty()) {
    r.error = why;
    return r;
  }
  if (in.q.size() != static_cast<size_t>(spec.q_elements()) || in.k.size() != static_cast<size_t>(spec.kv_elements()) ||
      in.v.size() != static_cast<size_t>(spec.kv_elements())) {
    r.error = "input arrays do not match the spec " + spec.summary();
    return r;
  }
  const bool causal = spec.mask.causal;
  if (causal && (request.chunk < 1 || request.chunk > kMaxChunk)) {
    r.error = "linear attention (CUDA) takes chunks of 1 to " + std::to_string(kMaxChunk) + " keys (asked for " +
              std::to_string(request.chunk) + ")";
    return r;
  }
  const int64_t chunk = causal ? request.chunk : 1;
  // Grid rows (blockIdx.y): the chunks (causal) or groups of 16 queries (non-causal), at most 65535.
  const int64_t grid_rows = causal ? chunks_of(spec, chunk) : (spec.q_len + kQueryRows - 1) / kQueryRows;
  if (grid_rows > 65535) {
    r.error = causal ? "linear attention (CUDA): " + std::to_string(grid_rows) +
                           " chunks exceed the grid's 65535; choose chunks of at least " +
                           std::to_string((spec.kv_len + 65534) / 65535) + " keys"
                     : "linear attention (CUDA): " + std::to_string(spec.q_len) + " queries exceed the kernel's limit of " +
                           std::to_string(65535 * kQueryRows);
    return r;
  }
  const auto stream = static_cast<cudaStream_t>(stream_ptr);
  r.kernel = causal ? "linear attention (φ = elu + 1), causal, chunks of " + std::to_string(chunk) +
                          " keys: chunk states, prefix, read-out (CUDA, " + dtype_name(spec.dtype) + ")"
                    : "linear attention (φ = elu + 1), non-causal: state sums, read-out (CUDA, " +
                          std::string(dtype_name(spec.dtype)) + ")";
  try {
    int dev = 0, sm_count = 1;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, dev));
    DeviceBuffer q, k, v, o, states(linear_attention_cuda_workspace_bytes(spec, chunk));
    upload_as(spec.dtype, in.q.data(), in.q.size(), q, stream);
    upload_as(spec.dtype, in.k.data(), in.k.size(), k, stream);
    upload_as(spec.dtype, in.v.data(), in.v.size(), v, stream);
    o.allocate(in.q.size() * dtype_bytes(spec.dtype));
    // Poison O (all bits set: NaN in fp32, fp16 and bf16) so an element no launch writes shows in the output.
    CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));
    dispatch_dtype(spec.dtype, [&](auto tag) {
      using T = decltype(tag);
      EventTimer timer;
      r.timing = Timing::from_samples(timer.time(stream, std::max(0, request.warmup), std::max(1, request.repetitions),
                                                 [&] {
                                                   launch_all<T>(spec, chunk, sm_count, q.get(), k.get(), v.get(),
                                                                 states.get<float>(), o.get(), stream);
                                                 }));
    });
    if (request.want_output) {
      r.output.resize(in.q.size());
      download_as_float(spec.dtype, o.get(), in.q.size(), r.output.data(), stream);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    r.bytes_allocated = states.bytes();
  } catch (const CudaError& e) {
    r.output.clear();
    r.out_of_memory = e.code() == cudaErrorMemoryAllocation;
    r.error = (r.out_of_memory ? "out of device memory while allocating: " : "CUDA error: ") + std::string(e.what());
    cudaGetLastError();
    return r;
  }
  r.flops = linear_attention_flops(spec, chunk);
  r.bytes_moved = linear_attention_bytes(spec) * static_cast<double>(dtype_bytes(spec.dtype)) / 4.0;
  r.state_bytes = linear_attention_state_bytes(spec.batch, spec.kv_heads, spec.head_dim);
  r.ok = true;
  return r;
}

}  // namespace attnscope::kernels
