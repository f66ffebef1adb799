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
// Splitting (issue 18, "sparse patterns without stragglers"): one CTA per Q tile lets the Q tiles with the longest
// visit lists (global tokens visit every key tile) decide the kernel's time. plan_visit_split cuts those lists into
// pieces; each piece is one work item (one CTA), writing its rows' partial state (O_p normalised, m_p, l_p) to a
// workspace slot, and a merge combines the pieces of a Q tile by the log-sum-exp rule
//   m = max_p m_p,   O = Σ_p e^{m_p − m} l_p O_p / Σ_p e^{m_p − m} l_p   (rows with every l_p = 0: O = 0).
// Rule: M = the median visit count over Q tiles that visit anything, T = max(M, kSplitMinPieceVisits); a Q tile with
// L > 2·T visits is cut into ceil(L / T) pieces whose lengths differ by at most one (each ≤ T). T's floor keeps a
// pattern of short lists (median 1) from turning one long list into many single-visit pieces whose partials cost
// more to write and merge than they save. Tiles at or under 2·T stay whole: their CTA is at most twice a median one.
//
// Bits: visit v with mask index m ≥ 0 owns words bits[m·Br + r] for r < Br; bit c of word r is 1 when query row
// (tile_row0 + r) may attend to the visit's key c. Rows past q_len are 0.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

// Whether schedules are split (an explicit option: `attnscope bench --visit-split`, RunRequest::visit_split).
enum class VisitSplit { Off, Auto };
const char* visit_split_name(VisitSplit s);  // "off", "auto"
std::optional<VisitSplit> parse_visit_split(std::string_view s);

inline constexpr int32_t kSplitMinPieceVisits = 4;

// One CTA's work: visits [visit_begin, visit_end) of Q tile q_tile (indices into VisitSchedule::visits).
// partial < 0: the item is the whole list and writes O; else it writes partial slot `partial`.
struct WorkItem {
  int32_t q_tile = 0;
  int32_t visit_begin = 0, visit_end = 0;
  int32_t partial = -1;
  int32_t visits() const { return visit_end - visit_begin; }
};
static_assert(sizeof(WorkItem) == 16, "one 16-byte load per work item on the device");

// A Q tile whose list was cut: its pieces wrote slots [first_slot, first_slot + pieces).
struct SplitTile {
  int32_t q_tile = 0;
  int32_t first_slot = 0;
  int32_t pieces = 0;
  int32_t reserved = 0;
};
static_assert(sizeof(SplitTile) == 16, "one 16-byte load per split tile on the device");

struct VisitSplitPlan {
  // Empty when nothing is split (off, or no list long enough): the kernels then run one CTA per Q tile. Else every
  // Q tile's list in items, longest items first (the CTA scheduler hands out blocks in order, so long work starts
  // early), a Q tile with no visits as one empty item (it writes zeros).
  std::vector<WorkItem> items;
  std::vector<SplitTile> split_tiles;
  int32_t partial_slots = 0;       // Σ pieces over split tiles
  int32_t median_visits = 0;       // M of the rule
  int32_t piece_visits = 0;        // T of the rule
  int32_t longest_unsplit = 0;     // the longest list (one CTA per Q tile)
  int32_t longest_split = 0;       // the longest work item after splitting (= longest_unsplit when nothing split)
  bool split() const { return !split_tiles.empty(); }
};

// The split of per-Q-tile lists given as offsets (tr + 1 entries, list i = [offsets[i], offsets[i+1])).
VisitSplitPlan plan_visit_split(const std::vector<int32_t>& offsets, VisitSplit mode);

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
  VisitSplitPlan split;                 // work items when split (empty: one CTA per Q tile)

  // Bytes the schedule occupies on the device (not the partials' workspace: split_workspace_bytes).
  uint64_t device_bytes() const {
    return offsets.size() * sizeof(int32_t) + visits.size() * sizeof(KernelVisit) + keys.size() * sizeof(int32_t) +
           bits.size() * sizeof(uint64_t) + split.items.size() * sizeof(WorkItem) +
           split.split_tiles.size() * sizeof(SplitTile);
  }
  // CTAs per (sequence, head): work items when split, else Q tiles.
  int64_t work_items() const { return split.split() ? static_cast<int64_t>(split.items.size()) : tr; }
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
// With VisitSplit::Auto the chosen schedule's lists are split (plan_visit_split).
VisitSchedule build_visit_schedule(const AttentionSpec& spec, int br, int bc, VisitSplit split = VisitSplit::Off);

// Floats of the partials' workspace for a split schedule: per (sequence, head, slot) Br rows of O_p (head_dim
// floats) then Br values of m_p and Br of l_p.
int64_t split_partial_floats(const VisitSplitPlan& plan, int64_t batch_heads, int br, int64_t head_dim);

}  // namespace attnscope
