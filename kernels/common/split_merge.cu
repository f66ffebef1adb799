// split_merge.cu — the merge kernel of split visit lists (see split_merge.hpp for the workspace and the rule).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>

#include "kernels/common/cuda_util.cuh"
#include "kernels/common/split_merge.hpp"

namespace attnscope::kernels {

namespace {

constexpr int kMergeWarps = 4;

// CTA (split tile t, head h, sequence b); warp w merges rows w, w + 4, ... of the tile. Lanes read the pieces' (m, l)
// (a lane per piece, strided), reduce M and L across the warp, then each lane sums columns lane, lane + 32, ...
template <class T>
__global__ void __launch_bounds__(kMergeWarps * 32) split_merge_kernel(const SplitMergeParams p) {
  const SplitTile tile = p.split_tiles[blockIdx.x];
  const int64_t h = blockIdx.y, b = blockIdx.z, d = p.head_dim;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t slot_floats = split_slot_floats(p.br, d);
  const float* head_slots = p.partials + ((b * p.q_heads + h) * p.partial_slots) * slot_floats;
  T* o_head = static_cast<T*>(p.o) + (b * p.q_heads + h) * p.q_len * d;
  const int64_t row0 = int64_t{tile.q_tile} * p.br;
  for (int r = warp; r < p.br && row0 + r < p.q_len; r += kMergeWarps) {
    float m = -INFINITY;
    for (int piece = lane; piece < tile.pieces; piece += 32) {
      const float* slot = head_slots + (tile.first_slot + piece) * slot_floats;
      if (slot[int64_t{p.br} * d + p.br + r] > 0.f) m = fmaxf(m, slot[int64_t{p.br} * d + r]);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float total_weight = 0.f;
    for (int piece = lane; piece < tile.pieces; piece += 32) {
      const float* slot = head_slots + (tile.first_slot + piece) * slot_floats;
      const float l = slot[int64_t{p.br} * d + p.br + r];
      if (l > 0.f) total_weight += exp2f(slot[int64_t{p.br} * d + r] - m) * l;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) total_weight += __shfl_xor_sync(0xffffffffu, total_weight, o);
    const float inv = total_weight > 0.f ? 1.f / total_weight : 0.f;
    if (total_weight == 0.f && lane == 0 && p.empty_rows) atomicAdd(p.empty_rows, 1ull);
    for (int64_t c = lane; c < d; c += 32) {
      float sum = 0.f;
      for (int piece = 0; piece < tile.pieces; ++piece) {
        const float* slot = head_slots + (tile.first_slot + piece) * slot_floats;
        const float l = slot[int64_t{p.br} * d + p.br + r];
        if (l > 0.f) sum += exp2f(slot[int64_t{p.br} * d + r] - m) * l * slot[r * d + c];
      }
      o_head[(row0 + r) * d + c] = from_float<T>(sum * inv);
    }
  }
}

}  // namespace

std::string validate(const SplitMergeParams& p) {
  const std::string who = "split merge: ";
  if (p.dtype != DType::F32 && p.dtype != DType::F16 && p.dtype != DType::BF16)
    return who + "O must be fp32, fp16 or bf16";
  if (p.batch < 1 || p.q_heads < 1 || p.q_len < 1 || p.head_dim < 1 || p.br < 1)
    return who + "batch, heads, q_len, head dim and Br must be at least 1";
  if (p.split_count < 0 || p.partial_slots < 0) return who + "negative split count";
  if (p.split_count > 0 && (!p.split_tiles || !p.partials || !p.o)) return who + "a device buffer is missing";
  if (p.q_heads > 65535 || p.batch > 65535) return who + "at most 65535 heads and 65535 sequences per launch";
  return {};
}

void launch_split_merge(const SplitMergeParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  if (p.split_count == 0) return;
  const dim3 grid(static_cast<unsigned>(p.split_count), static_cast<unsigned>(p.q_heads), static_cast<unsigned>(p.batch));
  const auto s = static_cast<cudaStream_t>(stream);
  switch (p.dtype) {
    case DType::F16: split_merge_kernel<__half><<<grid, kMergeWarps * 32, 0, s>>>(p); break;
    case DType::BF16: split_merge_kernel<__nv_bfloat16><<<grid, kMergeWarps * 32, 0, s>>>(p); break;
    default: split_merge_kernel<float><<<grid, kMergeWarps * 32, 0, s>>>(p); break;
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace attnscope::kernels
