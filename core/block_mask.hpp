// block_mask.hpp — the mask at tile granularity, as FlexAttention's BlockMask: for each (Q tile, K/V tile)
// pair, empty (skip it), full (no per-element masking needed) or partial (mask per element).
// Computed exactly from MaskView::allowed over the tile: each mask term is classified from its structure
// (window and causal by the diagonal-offset range, global by the row/column ranges, random and painted
// grids by their cells) and the tile is scanned only where the structure cannot decide.
// For element-level patterns (strided, dilated) whose allowed keys touch every tile, the gathered form lists
// per Q tile the key indices that some row of the tile may use, so work follows the allowed pairs.
#pragma once
#include <cstdint>
#include <vector>

#include "core/spec.hpp"
#include "core/tiles.hpp"

namespace attnscope {

enum class TileKind : uint8_t { Empty = 0, Partial = 1, Full = 2 };
const char* tile_kind_name(TileKind kind);

// Exact kind of the region rows [q0, q1) x keys [k0, k1) in absolute query positions (see spec.hpp).
TileKind classify_region(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1);
// Number of allowed pairs in the region, exact: partial regions are counted row by row from the terms'
// structure (core/allowed_pairs.hpp), every random cell evaluated.
int64_t count_allowed(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1);

// allowed[j] = mask.allowed(q, k0 + j) for j < k1 - k0, computed from each term's structure (intervals,
// arithmetic progressions, constant cells) rather than pair by pair: no division per key.
void mask_row(const MaskView& mask, int64_t q, int64_t k0, int64_t k1, uint8_t* allowed);

struct BlockMaskStats {
  int64_t empty = 0, partial = 0, full = 0;
  int64_t allowed_pairs = -1;   // exact count of allowed (query, key) pairs; -1 when not counted
  int64_t total_pairs = 0;      // q_len * kv_len
  int64_t visited_pairs = 0;    // pairs inside non-empty tiles: what block-sparse computes
  double tile_density() const;      // non-empty tiles / all tiles
  double element_density() const;   // allowed pairs / all pairs (needs allowed_pairs)
  double visited_density() const;   // visited_pairs / total_pairs
};

struct BlockMask {
  TileSchedule tiles;
  std::vector<TileKind> kinds;  // tr x tc, row-major
  BlockMaskStats stats;

  TileKind at(int64_t q_tile, int64_t k_tile) const { return kinds[static_cast<size_t>(q_tile * tiles.tc + k_tile)]; }
  // The non-empty K/V tiles of one Q tile, in increasing order.
  std::vector<int32_t> nonempty_tiles(int64_t q_tile) const;
};

// count_pairs: also count allowed pairs exactly (scans the partial tiles).
BlockMask build_block_mask(const AttentionSpec& spec, int br, int bc, bool count_pairs = true);

// Per Q tile, every key index allowed for at least one of its rows, increasing.
struct GatheredMask {
  TileSchedule tiles;                     // only Br / Tr are used
  std::vector<std::vector<int32_t>> keys; // tr lists
  int64_t gathered_pairs = 0;             // Σ_i rows(i) · |keys_i|: what the gathered kernel computes
};
GatheredMask build_gathered_mask(const AttentionSpec& spec, int br);

// Exact allowed-pair count of the whole spec's pattern (one head), row by row (core/allowed_pairs.hpp); every
// random cell is evaluated, so use count_allowed_pattern with a budget where N is large.
int64_t count_allowed_pairs(const AttentionSpec& spec);

}  // namespace attnscope
