// block_mask.hpp — the block mask on the GPU: each (Q tile, K/V tile) pair classified as empty (no allowed
// pair: the flash kernel skips it), partial (some pairs masked, or the tile runs past the sequence: masked per
// element) or full (every pair allowed: no per-element masking). Same classes as FlexAttention's BlockMask.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/host_device.hpp"
#include "core/mask.hpp"

namespace attnscope::kernels {

enum class TileClass : uint8_t { Empty = 0, Partial = 1, Full = 2 };

struct BlockMaskParams {
  MaskView mask;            // grid_cells must be a device pointer (or null when there is no painted grid)
  int64_t q_len = 0, kv_len = 0;
  int br = 64, bc = 64;
  uint8_t* classes = nullptr;  // device, tr x tc TileClass values, row-major
  ATTN_HD int tr() const { return static_cast<int>((q_len + br - 1) / br); }
  ATTN_HD int tc() const { return static_cast<int>((kv_len + bc - 1) / bc); }
};

// Empty when the params are usable, else the problem in words.
std::string validate(const BlockMaskParams& p);
// Classifies every tile pair by evaluating MaskView::allowed on each of its elements (once per mask, not per head).
void launch_block_mask(const BlockMaskParams& p, void* stream);

// Counts the query rows with no allowed key (their output is defined as zeros) into *count (device int64,
// zeroed by the caller). One warp per row, stopping at the row's first allowed key.
void launch_count_empty_rows(const MaskView& mask, int64_t q_len, int64_t kv_len, unsigned long long* count,
                             void* stream);

}  // namespace attnscope::kernels
