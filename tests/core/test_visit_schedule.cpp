// test_visit_schedule.cpp — the tensor-core kernel's visit lists and bits: every allowed (row, key) pair is
// covered exactly once, no disallowed pair is ever marked, for every pattern, odd sizes, decode-style offsets and
// both forms; the automatic choice gathers only where it pays.
#include <doctest/doctest.h>

#include "tests/common/mask_spec.hpp"

#include <stdexcept>
#include <string>

#include "core/rng.hpp"
#include "core/visit_schedule.hpp"

using namespace attnscope;
using attnscope::test::spec_for;

namespace {
// Replays the schedule as the kernel does and compares with MaskView::allowed pair by pair.
void check_covers_exactly_the_allowed_pairs(const AttentionSpec& spec, const VisitSchedule& s) {
  const MaskView view = spec.mask.view();
  REQUIRE(s.offsets.size() == static_cast<size_t>(s.tr + 1));
  REQUIRE(s.tr == (spec.q_len + s.br - 1) / s.br);
  std::vector<int> covered(static_cast<size_t>(spec.q_len * spec.kv_len), 0);
  int64_t computed = 0;
  for (int64_t i = 0; i < s.tr; ++i) {
    const int64_t r0 = i * s.br, r1 = std::min<int64_t>(spec.q_len, r0 + s.br);
    for (int32_t v = s.offsets[i]; v < s.offsets[i + 1]; ++v) {
      const KernelVisit& visit = s.visits[static_cast<size_t>(v)];
      int64_t keys_in_visit = 0;
      for (int c = 0; c < s.bc; ++c) {
        int64_t key = s.gathered ? s.keys[static_cast<size_t>(visit.key_begin + c)] : int64_t{visit.key_begin} + c;
        if (key < 0 || key >= spec.kv_len) {
          // Padding: its bits must be 0 for every row.
          if (visit.mask_index >= 0)
            for (int64_t r = r0; r < r1; ++r)
              CHECK(((s.bits[static_cast<size_t>(visit.mask_index) * s.br + (r - r0)] >> c) & 1) == 0);
          else
            FAIL_CHECK("a full visit reaches past kv_len");
          continue;
        }
        ++keys_in_visit;
        for (int64_t r = r0; r < r1; ++r) {
          const bool marked = visit.mask_index < 0 ||
                              ((s.bits[static_cast<size_t>(visit.mask_index) * s.br + (r - r0)] >> c) & 1) != 0;
          const bool allowed = spec.allowed(view, r, key);
          if (marked) {
            if (!allowed) FAIL_CHECK("row " << r << " key " << key << " marked but not allowed");
            ++covered[static_cast<size_t>(r * spec.kv_len + key)];
          }
        }
      }
      computed += (r1 - r0) * keys_in_visit;
    }
  }
  int64_t missing = 0, twice = 0;
  for (int64_t r = 0; r < spec.q_len; ++r)
    for (int64_t k = 0; k < spec.kv_len; ++k) {
      const int c = covered[static_cast<size_t>(r * spec.kv_len + k)];
      if (spec.allowed(view, r, k) && c == 0) ++missing;
      if (c > 1) ++twice;
    }
  CHECK(missing == 0);
  CHECK(twice == 0);
  CHECK(computed == s.computed_pairs);
  CHECK(s.masked_visits + s.full_visits == static_cast<int64_t>(s.visits.size()));
}

const char* kMasks[] = {"dense", "causal", "window:5", "window:3,9", "window:17,0+causal", "strided:8,2",
                        "strided:7,0+causal", "dilated:40,3", "random:0.3,7,8", "global:3",
                        "global:5+window:2+causal", "grid:8:101/010/111", "strided:6,3+window:4,0"};
}  // namespace

TEST_CASE("visit schedules cover exactly the allowed pairs, block-sparse and gathered") {
  Rng rng(11);
  for (const char* mask : kMasks)
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t nk = 1 + static_cast<int64_t>(rng.uniform() * 150);
      const int64_t nq = trial % 2 ? nk : 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(nk));
      const int br = 1 + static_cast<int>(rng.uniform() * 40), bc = 1 + static_cast<int>(rng.uniform() * 64);
      const AttentionSpec spec = spec_for(mask, nq, nk);
      INFO(mask, " nq=", nq, " nk=", nk, " br=", br, " bc=", bc);
      {
        INFO("block-sparse");
        check_covers_exactly_the_allowed_pairs(spec, build_block_sparse_schedule(spec, br, bc));
      }
      {
        INFO("gathered");
        check_covers_exactly_the_allowed_pairs(spec, build_gathered_schedule(spec, br, bc));
      }
    }
}

TEST_CASE("the kernel's own tile sizes: 64 x 64 and 128 x 64, lengths 1, 17, 1000") {
  for (const char* mask : {"dense", "causal", "window:100+global:4", "strided:16,8", "random:0.2,3,64"})
    for (int64_t n : {1, 17, 1000})
      for (int br : {64, 128}) {
        const AttentionSpec spec = spec_for(mask, n, n);
        INFO(mask, " n=", n, " br=", br);
        check_covers_exactly_the_allowed_pairs(spec, build_visit_schedule(spec, br, 64));
      }
}

TEST_CASE("dense and causal schedules: full tiles carry no bits, the diagonal and the ragged end do") {
  const AttentionSpec dense = spec_for("dense", 256, 256);
  const VisitSchedule d = build_visit_schedule(dense, 128, 64);
  CHECK_FALSE(d.gathered);
  CHECK(d.visits.size() == 8);
  CHECK(d.masked_visits == 0);
  CHECK(d.bits.empty());
  CHECK(d.computed_pairs == 256 * 256);

  const VisitSchedule ragged = build_visit_schedule(spec_for("dense", 100, 100), 128, 64);
  CHECK(ragged.visits.size() == 2);
  CHECK(ragged.masked_visits == 1);  // keys 64..99 of the second tile: bits for 36 keys
  CHECK(ragged.bits[0] == (uint64_t{1} << 36) - 1);

  const VisitSchedule causal = build_visit_schedule(spec_for("causal", 1024, 1024), 128, 64);
  // Q tile i (rows 128i..128i+127) visits tiles 0..2i+1; the last two straddle the diagonal.
  CHECK(causal.visits.size() == static_cast<size_t>(2 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8)));
  CHECK(causal.masked_visits == 16);
  CHECK(causal.max_visits_per_tile() == 16);
}

TEST_CASE("strided patterns are gathered; windows, random blocks and dense are not") {
  // Every 128th key plus a band of ±128 at N = 4096: gathered computes ~ (32 + 384) keys per 128-row tile
  // instead of every tile.
  const VisitSchedule strided = build_visit_schedule(spec_for("strided:128,128", 4096, 4096), 128, 64);
  CHECK(strided.gathered);
  CHECK(strided.computed_pairs * 4 < int64_t{4096} * 4096);
  for (const char* mask : {"window:256", "random:0.1,1,64", "dense", "causal"})
    CHECK_FALSE(build_visit_schedule(spec_for(mask, 2048, 2048), 128, 64).gathered);
  CHECK_FALSE(build_visit_schedule(spec_for("strided:2,0", 512, 512), 128, 64).gathered);  // half the keys: no gain
}

TEST_CASE("tile sizes the schedule cannot hold are refused in words") {
  const AttentionSpec spec = spec_for("dense", 64, 64);
  CHECK(validate_schedule_tiles(128, 65).find("Bc 65") != std::string::npos);
  CHECK(validate_schedule_tiles(0, 64).find("Br 0") != std::string::npos);
  CHECK_THROWS_AS(build_block_sparse_schedule(spec, 64, 100), std::invalid_argument);
}

// ---- splitting long visit lists (visit_schedule.hpp's rule) ----------------------------------------------------

namespace {
// Every visit of the schedule is in exactly one work item, inside its own Q tile's list; every Q tile has work
// (unsplit: one item writing O; split: its pieces writing distinct slots, recorded in split_tiles); pieces of a tile
// differ by at most one visit and none exceeds T; the items are longest first.
void check_split_plan(const std::vector<int32_t>& offsets, const VisitSplitPlan& plan) {
  const size_t tr = offsets.size() - 1;
  REQUIRE(plan.split());
  std::vector<int> covered(static_cast<size_t>(offsets.back()), 0), whole_items(tr, 0), pieces_seen(tr, 0);
  std::vector<int> slot_used(static_cast<size_t>(plan.partial_slots), 0);
  for (size_t n = 0; n < plan.items.size(); ++n) {
    const WorkItem& item = plan.items[n];
    REQUIRE(item.q_tile >= 0);
    REQUIRE(static_cast<size_t>(item.q_tile) < tr);
    CHECK(item.visit_begin >= offsets[static_cast<size_t>(item.q_tile)]);
    CHECK(item.visit_end <= offsets[static_cast<size_t>(item.q_tile) + 1]);
    CHECK(item.visit_begin <= item.visit_end);
    for (int32_t v = item.visit_begin; v < item.visit_end; ++v) ++covered[static_cast<size_t>(v)];
    if (item.partial < 0) {
      ++whole_items[static_cast<size_t>(item.q_tile)];
    } else {
      REQUIRE(item.partial < plan.partial_slots);
      ++slot_used[static_cast<size_t>(item.partial)];
      ++pieces_seen[static_cast<size_t>(item.q_tile)];
      CHECK(item.visits() <= plan.piece_visits);
    }
    if (n > 0) CHECK(plan.items[n - 1].visits() >= item.visits());
  }
  for (size_t v = 0; v < covered.size(); ++v) CHECK_MESSAGE(covered[v] == 1, "visit ", v);
  for (int used : slot_used) CHECK(used == 1);
  int32_t next_slot = 0;
  for (const SplitTile& st : plan.split_tiles) {
    CHECK(st.first_slot == next_slot);
    next_slot += st.pieces;
    CHECK(pieces_seen[static_cast<size_t>(st.q_tile)] == st.pieces);
    CHECK(whole_items[static_cast<size_t>(st.q_tile)] == 0);
    const int32_t n = offsets[static_cast<size_t>(st.q_tile) + 1] - offsets[static_cast<size_t>(st.q_tile)];
    CHECK(n > 2 * plan.piece_visits);  // only lists over 2·T are cut
    int32_t shortest = n, longest = 0;
    for (const WorkItem& item : plan.items)
      if (item.q_tile == st.q_tile) {
        shortest = std::min(shortest, item.visits());
        longest = std::max(longest, item.visits());
      }
    CHECK(longest - shortest <= 1);
  }
  CHECK(next_slot == plan.partial_slots);
  for (size_t i = 0; i < tr; ++i) CHECK(whole_items[i] + pieces_seen[i] >= 1);
  CHECK(plan.longest_split <= 2 * plan.piece_visits);
  CHECK(plan.longest_split == plan.items.front().visits());
}

std::vector<int32_t> offsets_of(std::initializer_list<int32_t> lengths) {
  std::vector<int32_t> offsets{0};
  for (int32_t n : lengths) offsets.push_back(offsets.back() + n);
  return offsets;
}
}  // namespace

TEST_CASE("split rule: lists over 2 x max(median, minimum) are cut into balanced pieces of about the median") {
  // Median 5: 11 > 10 is cut into ceil(11 / 5) = 3 pieces (4, 4, 3); 10 stays whole.
  const auto o1 = offsets_of({5, 5, 5, 11, 10, 0});
  const VisitSplitPlan p1 = plan_visit_split(o1, VisitSplit::Auto);
  CHECK(p1.median_visits == 5);
  CHECK(p1.piece_visits == 5);
  REQUIRE(p1.split_tiles.size() == 1);
  CHECK(p1.split_tiles[0].q_tile == 3);
  CHECK(p1.split_tiles[0].pieces == 3);
  CHECK(p1.longest_unsplit == 11);
  CHECK(p1.longest_split == 10);
  CHECK(p1.items.size() == 8);  // 5 whole tiles (one of them empty) + 3 pieces
  check_split_plan(o1, p1);

  // Median 1 (short lists): the minimum piece (kSplitMinPieceVisits) sets T, so 100 visits make 25 pieces, not 100.
  const auto o2 = offsets_of({1, 1, 1, 100});
  const VisitSplitPlan p2 = plan_visit_split(o2, VisitSplit::Auto);
  CHECK(p2.median_visits == 1);
  CHECK(p2.piece_visits == kSplitMinPieceVisits);
  REQUIRE(p2.split_tiles.size() == 1);
  CHECK(p2.split_tiles[0].pieces == 100 / kSplitMinPieceVisits);
  CHECK(p2.longest_split == kSplitMinPieceVisits);
  check_split_plan(o2, p2);

  // Nothing long enough, or splitting off: no work items, the kernels run one CTA per Q tile.
  CHECK_FALSE(plan_visit_split(offsets_of({5, 5, 5, 10}), VisitSplit::Auto).split());
  const VisitSplitPlan off = plan_visit_split(o2, VisitSplit::Off);
  CHECK_FALSE(off.split());
  CHECK(off.items.empty());
  CHECK(off.longest_split == 100);
  CHECK_FALSE(plan_visit_split(offsets_of({0, 0}), VisitSplit::Auto).split());
  CHECK(parse_visit_split("auto") == VisitSplit::Auto);
  CHECK(parse_visit_split("off") == VisitSplit::Off);
  CHECK_FALSE(parse_visit_split("on"));
  CHECK(parse_visit_split(visit_split_name(VisitSplit::Auto)) == VisitSplit::Auto);
}

TEST_CASE("split schedules of window+global, random and strided patterns cover every visit once, balanced") {
  struct Case { const char* mask; int64_t n; int br, bc; };
  const Case cases[] = {
      {"window:128+global:16", 4096, 128, 64}, {"window:256+global:64+random:0.02,5,64", 4096, 128, 64},
      {"global:3+window:2", 1000, 16, 16},     {"window:1+global:1", 17, 2, 1},
      {"strided:128,64+global:8", 4096, 128, 64},
  };
  for (const Case& c : cases) {
    INFO(c.mask, " N=", c.n);
    const AttentionSpec spec = spec_for(c.mask, c.n, c.n);
    const VisitSchedule s = build_visit_schedule(spec, c.br, c.bc, VisitSplit::Auto);
    check_split_plan(s.offsets, s.split);
    CHECK(s.split.longest_split < s.split.longest_unsplit);
    CHECK(s.work_items() == static_cast<int64_t>(s.split.items.size()));
    // The visits themselves are those of the unsplit schedule: splitting only groups them.
    const VisitSchedule unsplit = build_visit_schedule(spec, c.br, c.bc);
    CHECK_FALSE(unsplit.split.split());
    CHECK(unsplit.work_items() == unsplit.tr);
    CHECK(unsplit.visits.size() == s.visits.size());
    CHECK(unsplit.offsets == s.offsets);
    CHECK(s.device_bytes() > unsplit.device_bytes());
    check_covers_exactly_the_allowed_pairs(spec, s);
  }
  // A sliding window has no stragglers: nothing is split.
  CHECK_FALSE(build_visit_schedule(spec_for("window:256", 4096, 4096), 128, 64, VisitSplit::Auto).split.split());
}
