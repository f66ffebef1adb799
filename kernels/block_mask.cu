// block_mask.cu — tile classification for the block mask (see block_mask.hpp).
#include "kernels/block_mask.hpp"
#include "kernels/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

// One CTA per (Q tile, K/V tile). A pair outside the sequence counts as masked, so edge tiles come out partial
// and the flash kernel's per-element path also does the bounds check.
__global__ void classify_tiles(BlockMaskParams p, int tc) {
  const int q_tile = blockIdx.y, k_tile = blockIdx.x;
  const int64_t shift = p.kv_len - p.q_len;  // query row i sits at position i + shift
  int any_allowed = 0, all_allowed = 1;
  for (int e = threadIdx.x; e < p.br * p.bc; e += blockDim.x) {
    const int64_t row = int64_t{q_tile} * p.br + e / p.bc;
    const int64_t key = int64_t{k_tile} * p.bc + e % p.bc;
    const bool ok = row < p.q_len && key < p.kv_len && p.mask.allowed(row + shift, key);
    any_allowed |= ok;
    all_allowed &= ok;
  }
  // Barriers that also reduce: every thread learns whether any / all of the tile's pairs are allowed.
  any_allowed = __syncthreads_or(any_allowed);
  all_allowed = __syncthreads_and(all_allowed);
  if (threadIdx.x == 0)
    p.classes[int64_t{q_tile} * tc + k_tile] = static_cast<uint8_t>(
        all_allowed ? TileClass::Full : (any_allowed ? TileClass::Partial : TileClass::Empty));
}

__global__ void count_empty_rows(MaskView mask, int64_t q_len, int64_t kv_len, unsigned long long* count) {
  const int64_t row = (int64_t{blockIdx.x} * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= q_len) return;
  const int64_t q_pos = row + (kv_len - q_len);
  bool found = false;
  for (int64_t j0 = 0; j0 < kv_len; j0 += 32) {
    const int64_t j = j0 + lane;
    found = __any_sync(0xffffffffu, j < kv_len && mask.allowed(q_pos, j));
    if (found) break;
  }
  if (!found && lane == 0) atomicAdd(count, 1ull);
}

}  // namespace

void launch_count_empty_rows(const MaskView& mask, int64_t q_len, int64_t kv_len, unsigned long long* count,
                             void* stream) {
  const int64_t threads = q_len * 32;
  count_empty_rows<<<static_cast<unsigned>((threads + 255) / 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      mask, q_len, kv_len, count);
  CUDA_CHECK_LAUNCH("count_empty_rows");
}

std::string validate(const BlockMaskParams& p) {
  if (p.q_len < 1 || p.kv_len < 1) return "block mask: sequence lengths must be >= 1";
  if (p.br < 1 || p.bc < 1 || p.br > 1024 || p.bc > 1024) return "block mask: tile sizes must be 1..1024";
  if (p.q_len > p.kv_len) return "block mask: query length exceeds key length";
  if (p.tr() > 65535) return "block mask: too many Q tiles (" + std::to_string(p.tr()) + ", at most 65535)";
  if (!p.classes) return "block mask: no output buffer";
  for (int i = 0; i < p.mask.term_count; ++i)
    if (p.mask.terms[i].kind == MaskTermKind::BlockGrid && p.mask.grid_rows > 0 && !p.mask.grid_cells)
      return "block mask: the painted grid is not on the device";
  return {};
}

void launch_block_mask(const BlockMaskParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  classify_tiles<<<dim3(p.tc(), p.tr()), 256, 0, static_cast<cudaStream_t>(stream)>>>(p, p.tc());
  CUDA_CHECK_LAUNCH("classify_tiles");
}

}  // namespace attnscope::kernels
