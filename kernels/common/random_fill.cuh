// random_fill.cuh — device arrays filled with uniform values from a hash of (seed, index), for timed runs whose
// cost does not depend on the values (the block's weights, a recurrent state of a given size): nothing crosses the
// bus and every run with the same seed sees the same numbers.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {

// Blocks of 256 threads for a grid-stride loop over `count` elements (at most 4096 blocks).
inline unsigned grid_stride_blocks(int64_t count) {
  return static_cast<unsigned>(std::clamp<int64_t>((count + 255) / 256, 1, 4096));
}

// out[i] = lo + (hi − lo)·u, u ∈ [0, 1) from the splitmix64 finaliser of seed + golden-ratio step · (i + 1).
template <class T>
__global__ void fill_uniform_kernel(T* out, int64_t count, uint64_t seed, float lo, float hi) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float unit = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
    out[i] = from_float<T>(lo + (hi - lo) * unit);
  }
}

template <class T>
void fill_uniform_async(T* out, int64_t count, uint64_t seed, float lo, float hi, cudaStream_t stream) {
  if (count <= 0) return;
  fill_uniform_kernel<T><<<grid_stride_blocks(count), 256, 0, stream>>>(out, count, seed, lo, hi);
  CUDA_CHECK_LAUNCH("fill_uniform_kernel");
}

}  // namespace attnscope::kernels
