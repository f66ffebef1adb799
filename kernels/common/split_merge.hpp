// split_merge.hpp — the merge of split visit lists (core/visit_schedule.hpp): the pieces of a Q tile ran as separate
// CTAs, each writing its rows' partial state to a workspace slot; this kernel combines them and writes O.
//
// Workspace (per (sequence, query head), slots [0, partial_slots), each Br·(D + 2) floats):
//   O_p   Br rows × D, normalised (acc / l of the piece; 0 for a row the piece saw no allowed key of)
//   m_p   Br values: the row's max of scale·S·log2 e over the piece (base 2; −∞ when nothing was allowed)
//   l_p   Br values: Σ 2^(scale·S·log2 e − m_p) over the piece's allowed keys
// Per row: M = max_p m_p, w_p = 2^(m_p − M) l_p (0 when l_p = 0), O = Σ_p w_p O_p / Σ_p w_p — the log-sum-exp rule
// in base 2 (2^(m_p − M) = e^{(m_p − M) ln 2}, the producers' units). A row with every l_p = 0 saw no allowed key: O = 0
// and it is counted in empty_rows.
//
// Not decode's reduce kernel (kernels/decode/reduce.cuh): that one merges many splits of one row per head with
// (m, l) interleaved and the decode grid's counters; here a CTA merges a few pieces of Br rows (one warp per row).
#pragma once
#include <cstdint>
#include <string>

#include "core/host_device.hpp"
#include "core/spec.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope::kernels {

struct SplitMergeParams {
  DType dtype = DType::F32;  // O's storage: F32, F16 or BF16
  int64_t batch = 1, q_heads = 1, q_len = 0, head_dim = 0;
  int32_t br = 0;                           // rows of a Q tile (the schedule's Br)
  const SplitTile* split_tiles = nullptr;   // device [split_count]
  int32_t split_count = 0;
  int32_t partial_slots = 0;
  const float* partials = nullptr;          // device, the layout above
  void* o = nullptr;                        // device, Q's layout, dtype elements
  unsigned long long* empty_rows = nullptr; // optional: += rows with no allowed key
};

// Floats of one slot (Br rows of O_p, then m_p and l_p).
ATTN_HD int64_t split_slot_floats(int32_t br, int64_t head_dim) { return int64_t{br} * (head_dim + 2); }

std::string validate(const SplitMergeParams& p);
// One CTA per (split tile, head, sequence); nothing to do (split_count 0) launches nothing.
void launch_split_merge(const SplitMergeParams& p, void* stream);

}  // namespace attnscope::kernels
