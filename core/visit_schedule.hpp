// visit_schedule.hpp — what a tiled attention kernel visits, decided on the host so the kernel does no mask
// arithmetic: per Q tile the list of K/V blocks it must compute (empty tiles are simply absent) and, for a block
// that is only partly allowed, one bit per (row, key) pair.
//
// Two forms:
//   block-sparse   a visit is K/V tile j (keys [j·Bc, (j+1)·Bc)); full tiles carry no bits. The last tile is
//                  also "partial" when kv_len is not a multiple of Bc (its missing keys are 0 bits).
//   gathered       per Q tile, every key some row of the tile may use (core/block_mask.hpp's GatheredMask),
//                  packed Bc at a time into visits; each visit lists its Bc key indices (−1 = padding) and
//                  always carries bits. Work then follows the allowed pairs for element-level patterns
//                  (strided, dilated) whose keys touch every tile.
// build_visit_schedule() picks the form that computes fewer pairs.
//
// Bits: visit v with mask index m ≥ 0 owns words bits[m·Br + r] for r < Br; bit c of word r is 1 when query row
// (tile_row0 + r) may attend to the visit's key c. Rows past q_len are 0.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace attnscope {

struct KernelVisit {
  int32_t tile = 0;        // block-sparse: K/V tile index; gathered: ordinal of the visit within its Q tile
  int32_t key_begin = 0;   // block-sparse: first key (tile · Bc); gathered: offset into VisitSchedule::keys
  int32_t mask_index = -1; // −1: every pair allowed (a full tile); else index of its Br words in bits
  int32_t reserved = 0;    // keeps the struct 16 bytes (one vector load on the device)
};
static_assert(sizeof(KernelVisit) == 16, "one 16-byte load per visit on the device");

struct VisitSchedule {
  int br = 0, bc = 0;                   // bc ≤ 64 (one 64-bit word per row)
  bool gathered = false;
  int64_t tr = 0;                       // Q tiles
  std::vector<int32_t> offsets;         // tr + 1: visits of Q tile i are [offsets[i], offsets[i+1])
  std::vector<KernelVisit> visits;
  std::vector<int32_t> keys;            // gathered only: bc key indices per visit, −1 = padding
  std::vector<uint64_t> bits;           // Br words per masked visit
  int64_t computed_pairs = 0;           // Σ over visits of (rows in the Q tile) · (keys in the visit): what runs
  int64_t masked_visits = 0, full_visits = 0;

  // Bytes the schedule occupies on the device.
  uint64_t device_bytes() const {
    return offsets.size() * sizeof(int32_t) + visits.size() * sizeof(KernelVisit) + keys.size() * sizeof(int32_t) +
           bits.size() * sizeof(uint64_t);
  }
  int32_t max_visits_per_tile() const;
};

// Empty when (br, bc) suit the schedule, else the problem in words.
std::string validate_schedule_tiles(int br, int bc);
// Block-sparse schedule from core's block mask (exact classification; partial tiles' bits from mask_row).
VisitSchedule build_block_sparse_schedule(const AttentionSpec& spec, int br, int bc);
// Gathered schedule (one row per key list; bits from MaskView::allowed per pair).
VisitSchedule build_gathered_schedule(const AttentionSpec& spec, int br, int bc);
// True when the mask has element-level terms (strided, dilated): only then can gathering beat the block mask.
bool has_element_level_terms(const MaskSpec& mask);
// The schedule a kernel should run: the gathered form when the mask has element-level terms and gathering
// computes at most half the pairs of the block-sparse form (key lists are built only then), else block-sparse.
VisitSchedule build_visit_schedule(const AttentionSpec& spec, int br, int bc);

}  // namespace attnscope
