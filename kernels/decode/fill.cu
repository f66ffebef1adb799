// fill.cu — the decode loop's cache fill, length bump and query fill (fill.cuh).
#include "kernels/decode/fill.cuh"

#include <algorithm>

#include "core/rng.hpp"
#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {
namespace {

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
    const int64_t off = row_offset<PAGED>(a, b, h, pos) + c;
    k[off] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, key, 1)) - 0.5) * 3.4641016));
    v[off] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, key, 2)) - 0.5) * 3.4641016));
  }
}

__global__ void bump_lengths_kernel(int32_t* lens, int batch, int by) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < batch) lens[b] += by;
}

template <class T>
__global__ void fill_query_kernel(T* q, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    q[i] = from_float<T>(static_cast<float>((unit_interval(hash3(seed, static_cast<uint64_t>(i), 3)) - 0.5) * 3.4641016));
}

}  // namespace

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

void bump_lengths(int32_t* lens, int64_t batch, int by, cudaStream_t stream) {
  bump_lengths_kernel<<<static_cast<unsigned>((batch + 127) / 128), 128, 0, stream>>>(lens, static_cast<int>(batch), by);
  CUDA_CHECK_LAUNCH("bump_lengths_kernel");
}

void fill_queries(DType dtype, void* q, int64_t n, uint64_t seed, cudaStream_t stream) {
  if (dtype == DType::BF16) fill_query_kernel<<<256, 256, 0, stream>>>(static_cast<__nv_bfloat16*>(q), n, seed);
  else fill_query_kernel<<<256, 256, 0, stream>>>(static_cast<__half*>(q), n, seed);
  CUDA_CHECK_LAUNCH("fill_query_kernel");
}

}  // namespace attnscope::kernels::decode
