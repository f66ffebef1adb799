// tiles.hpp — the tile schedule of FlashAttention: Q in tiles of Br rows, K/V in tiles of Bc keys.
//
//   Tr = ceil(q_len / Br) Q tiles, Tc = ceil(kv_len / Bc) K/V tiles; the last tile of each may be partial.
//   FlashAttention-2 order: for each Q tile i (outer, parallel), for each K/V tile j (inner): O_i written once.
//   FlashAttention-1 order: for each K/V tile j (outer), for each Q tile i (inner): O_i, m_i, l_i are read
//   and written back on every pass over j.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace attnscope {

enum class LoopOrder { Flash2, Flash1 };

struct TileSchedule {
  int64_t rows = 0, cols = 0;  // q_len and kv_len
  int br = 64, bc = 64;
  int64_t tr = 0, tc = 0;

  TileSchedule() = default;
  TileSchedule(int64_t q_len, int64_t kv_len, int br_, int bc_)
      : rows(q_len), cols(kv_len), br(br_), bc(bc_),
        tr(br_ > 0 ? (q_len + br_ - 1) / br_ : 0), tc(bc_ > 0 ? (kv_len + bc_ - 1) / bc_ : 0) {}

  int64_t row_begin(int64_t i) const { return i * br; }
  int64_t row_end(int64_t i) const { return std::min<int64_t>(rows, (i + 1) * br); }
  int64_t col_begin(int64_t j) const { return j * bc; }
  int64_t col_end(int64_t j) const { return std::min<int64_t>(cols, (j + 1) * bc); }
  int64_t tile_count() const { return tr * tc; }

  // Every (Q tile, K/V tile) pair in the order one worker would visit them.
  std::vector<std::pair<int64_t, int64_t>> visit_order(LoopOrder order) const {
    std::vector<std::pair<int64_t, int64_t>> out;
    out.reserve(static_cast<size_t>(tr * tc));
    if (order == LoopOrder::Flash2) {
      for (int64_t i = 0; i < tr; ++i)
        for (int64_t j = 0; j < tc; ++j) out.emplace_back(i, j);
    } else {
      for (int64_t j = 0; j < tc; ++j)
        for (int64_t i = 0; i < tr; ++i) out.emplace_back(i, j);
    }
    return out;
  }
};

}  // namespace attnscope
