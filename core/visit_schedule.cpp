// visit_schedule.cpp — host-built visit lists and per-pair bits for the tensor-core flash kernel (see header).
#include "core/visit_schedule.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/block_mask.hpp"

namespace attnscope {

int32_t VisitSchedule::max_visits_per_tile() const {
  int32_t most = 0;
  for (size_t i = 0; i + 1 < offsets.size(); ++i) most = std::max(most, offsets[i + 1] - offsets[i]);
  return most;
}

const char* visit_split_name(VisitSplit s) { return s == VisitSplit::Auto ? "auto" : "off"; }

std::optional<VisitSplit> parse_visit_split(std::string_view s) {
  if (s == "auto") return VisitSplit::Auto;
  if (s == "off") return VisitSplit::Off;
  return std::nullopt;
}

VisitSplitPlan plan_visit_split(const std::vector<int32_t>& offsets, VisitSplit mode) {
  VisitSplitPlan plan;
  const size_t tr = offsets.empty() ? 0 : offsets.size() - 1;
  std::vector<int32_t> lengths;
  for (size_t i = 0; i < tr; ++i) {
    const int32_t n = offsets[i + 1] - offsets[i];
    plan.longest_unsplit = std::max(plan.longest_unsplit, n);
    if (n > 0) lengths.push_back(n);
  }
  plan.longest_split = plan.longest_unsplit;
  if (lengths.empty()) return plan;
  std::nth_element(lengths.begin(), lengths.begin() + (lengths.size() - 1) / 2, lengths.end());
  plan.median_visits = lengths[(lengths.size() - 1) / 2];  // the lower median
  plan.piece_visits = std::max(plan.median_visits, kSplitMinPieceVisits);
  if (mode == VisitSplit::Off || plan.longest_unsplit <= 2 * plan.piece_visits) return plan;

  const int32_t target = plan.piece_visits;
  for (size_t i = 0; i < tr; ++i) {
    const int32_t begin = offsets[i], n = offsets[i + 1] - begin;
    if (n <= 2 * target) {
      plan.items.push_back({static_cast<int32_t>(i), begin, begin + n, -1});
      continue;
    }
    // ceil(n / T) pieces, the first n mod pieces one visit longer: lengths differ by at most one, each ≤ T.
    const int32_t pieces = (n + target - 1) / target, base = n / pieces, longer = n % pieces;
    plan.split_tiles.push_back({static_cast<int32_t>(i), plan.partial_slots, pieces, 0});
    for (int32_t p = 0, at = begin; p < pieces; ++p) {
      const int32_t len = base + (p < longer ? 1 : 0);
      plan.items.push_back({static_cast<int32_t>(i), at, at + len, plan.partial_slots + p});
      at += len;
    }
    plan.partial_slots += pieces;
  }
  std::stable_sort(plan.items.begin(), plan.items.end(),
                   [](const WorkItem& a, const WorkItem& b) { return a.visits() > b.visits(); });
  plan.longest_split = plan.items.front().visits();
  return plan;
}

int64_t split_partial_floats(const VisitSplitPlan& plan, int64_t batch_heads, int br, int64_t head_dim) {
  return batch_heads * plan.partial_slots * static_cast<int64_t>(br) * (head_dim + 2);
}

std::string validate_schedule_tiles(int br, int bc) {
  if (br < 1 || br > 4096) return "Br " + std::to_string(br) + ": must be 1..4096";
  if (bc < 1 || bc > 64) return "Bc " + std::to_string(bc) + ": must be 1..64 (one 64-bit mask word per row)";
  return {};
}

namespace {

void require_tiles(int br, int bc) {
  if (auto problem = validate_schedule_tiles(br, bc); !problem.empty()) throw std::invalid_argument(problem);
}

}  // namespace

VisitSchedule build_block_sparse_schedule(const AttentionSpec& spec, int br, int bc) {
  require_tiles(br, bc);
  const BlockMask bm = build_block_mask(spec, br, bc, /*count_pairs=*/false);
  const MaskView mask = spec.mask.view();
  const int64_t offset = spec.kv_len - spec.q_len;  // row -> absolute query position
  VisitSchedule s;
  s.br = br;
  s.bc = bc;
  s.tr = bm.tiles.tr;
  s.offsets.reserve(static_cast<size_t>(s.tr + 1));
  s.offsets.push_back(0);
  std::vector<uint8_t> row(static_cast<size_t>(bc));
  for (int64_t i = 0; i < s.tr; ++i) {
    const int64_t r0 = bm.tiles.row_begin(i), r1 = bm.tiles.row_end(i);
    for (int64_t j = 0; j < bm.tiles.tc; ++j) {
      const TileKind kind = bm.at(i, j);
      if (kind == TileKind::Empty) continue;
      const int64_t k0 = bm.tiles.col_begin(j), k1 = bm.tiles.col_end(j);
      KernelVisit v;
      v.tile = static_cast<int32_t>(j);
      v.key_begin = static_cast<int32_t>(k0);
      // A full tile that is cut short by kv_len still needs bits: the kernel computes Bc keys.
      if (kind == TileKind::Partial || k1 - k0 < bc) {
        v.mask_index = static_cast<int32_t>(s.masked_visits++);
        const size_t base = s.bits.size();
        s.bits.resize(base + static_cast<size_t>(br), 0);
        for (int64_t r = r0; r < r1; ++r) {
          uint64_t word = 0;
          if (kind == TileKind::Full) {
            word = (k1 - k0 == 64) ? ~uint64_t{0} : ((uint64_t{1} << (k1 - k0)) - 1);
          } else {
            mask_row(mask, r + offset, k0, k1, row.data());
            for (int64_t c = 0; c < k1 - k0; ++c) word |= uint64_t{row[static_cast<size_t>(c)] != 0} << c;
          }
          s.bits[base + static_cast<size_t>(r - r0)] = word;
        }
      } else {
        ++s.full_visits;
      }
      s.computed_pairs += (r1 - r0) * (k1 - k0);
      s.visits.push_back(v);
    }
    s.offsets.push_back(static_cast<int32_t>(s.visits.size()));
  }
  return s;
}

VisitSchedule build_gathered_schedule(const AttentionSpec& spec, int br, int bc) {
  require_tiles(br, bc);
  const GatheredMask gm = build_gathered_mask(spec, br);
  const MaskView mask = spec.mask.view();
  const int64_t offset = spec.kv_len - spec.q_len;
  VisitSchedule s;
  s.br = br;
  s.bc = bc;
  s.gathered = true;
  s.tr = gm.tiles.tr;
  s.offsets.push_back(0);
  for (int64_t i = 0; i < s.tr; ++i) {
    const int64_t r0 = gm.tiles.row_begin(i), r1 = gm.tiles.row_end(i);
    const auto& keys = gm.keys[static_cast<size_t>(i)];
    int32_t ordinal = 0;
    for (size_t start = 0; start < keys.size(); start += static_cast<size_t>(bc), ++ordinal) {
      const size_t count = std::min(keys.size() - start, static_cast<size_t>(bc));
      KernelVisit v;
      v.tile = ordinal;
      v.key_begin = static_cast<int32_t>(s.keys.size());
      v.mask_index = static_cast<int32_t>(s.masked_visits++);
      for (size_t c = 0; c < static_cast<size_t>(bc); ++c) s.keys.push_back(c < count ? keys[start + c] : -1);
      const size_t base = s.bits.size();
      s.bits.resize(base + static_cast<size_t>(br), 0);
      for (int64_t r = r0; r < r1; ++r) {
        uint64_t word = 0;
        for (size_t c = 0; c < count; ++c)
          word |= uint64_t{mask.allowed(r + offset, keys[start + c])} << c;
        s.bits[base + static_cast<size_t>(r - r0)] = word;
      }
      s.computed_pairs += (r1 - r0) * static_cast<int64_t>(count);
      s.visits.push_back(v);
    }
    s.offsets.push_back(static_cast<int32_t>(s.visits.size()));
  }
  return s;
}

bool has_element_level_terms(const MaskSpec& mask) {
  return std::any_of(mask.terms.begin(), mask.terms.end(), [](const MaskTerm& t) {
    return t.kind == MaskTermKind::Strided || t.kind == MaskTermKind::Dilated;
  });
}

namespace {
VisitSchedule choose_schedule(const AttentionSpec& spec, int br, int bc) {
  VisitSchedule block = build_block_sparse_schedule(spec, br, bc);
  if (!has_element_level_terms(spec.mask) || spec.mask.view().term_count == 0) return block;
  // The kernel computes whole visits: compare padded gathered pairs with the block-sparse ones.
  VisitSchedule gathered = build_gathered_schedule(spec, br, bc);
  const int64_t gathered_cost = static_cast<int64_t>(gathered.visits.size()) * br * bc;
  const int64_t block_cost = static_cast<int64_t>(block.visits.size()) * br * bc;
  return 2 * gathered_cost <= block_cost ? std::move(gathered) : std::move(block);
}
}  // namespace

VisitSchedule build_visit_schedule(const AttentionSpec& spec, int br, int bc, VisitSplit split) {
  VisitSchedule s = choose_schedule(spec, br, bc);
  s.split = plan_visit_split(s.offsets, split);
  return s;
}

}  // namespace attnscope
