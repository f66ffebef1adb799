// test_block_mask.cpp — tile kinds, allowed-pair counts and gathered key lists equal brute force over
// MaskView::allowed for every pattern, odd tile sizes and decode-style query offsets.
#include <doctest/doctest.h>

#include "tests/common/mask_spec.hpp"

#include <string>

#include "core/block_mask.hpp"
#include "core/rng.hpp"

using namespace attnscope;
using attnscope::test::spec_for;

namespace {
const char* kMasks[] = {"dense", "causal", "window:5", "window:3,9", "window:17,0+causal", "strided:8,2",
                        "strided:7,0+causal", "strided:1", "dilated:40,3", "dilated:9,1", "random:0.3,7,8",
                        "random:0.6,2,1", "global:3", "global:5+window:2+causal", "grid:8:101/010/111",
                        "window:2+dilated:30,4", "strided:6,3+window:4,0"};
}  // namespace

TEST_CASE("block mask kinds and counts equal brute force") {
  Rng rng(7);
  for (const char* mask : kMasks)
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t nk = 1 + static_cast<int64_t>(rng.uniform() * 90);
      const int64_t nq = trial % 2 ? nk : 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(nk));
      const int br = 1 + static_cast<int>(rng.uniform() * 20), bc = 1 + static_cast<int>(rng.uniform() * 20);
      const AttentionSpec spec = spec_for(mask, nq, nk);
      const MaskView view = spec.mask.view();
      const BlockMask bm = build_block_mask(spec, br, bc, true);
      INFO(mask, " nq=", nq, " nk=", nk, " br=", br, " bc=", bc);
      int64_t allowed_total = 0, visited = 0;
      for (int64_t i = 0; i < bm.tiles.tr; ++i)
        for (int64_t j = 0; j < bm.tiles.tc; ++j) {
          int64_t allowed = 0, area = 0;
          for (int64_t r = bm.tiles.row_begin(i); r < bm.tiles.row_end(i); ++r)
            for (int64_t k = bm.tiles.col_begin(j); k < bm.tiles.col_end(j); ++k) {
              allowed += spec.allowed(view, r, k) ? 1 : 0;
              ++area;
            }
          const TileKind want = allowed == 0 ? TileKind::Empty : (allowed == area ? TileKind::Full : TileKind::Partial);
          CHECK_MESSAGE(bm.at(i, j) == want, "tile ", i, ",", j, " is ", tile_kind_name(bm.at(i, j)), " want ",
                        tile_kind_name(want));
          allowed_total += allowed;
          if (allowed) visited += area;
        }
      CHECK(bm.stats.allowed_pairs == allowed_total);
      CHECK(bm.stats.visited_pairs == visited);
      CHECK(bm.stats.empty + bm.stats.partial + bm.stats.full == bm.tiles.tile_count());
      CHECK(count_allowed_pairs(spec) == allowed_total);
    }
}

TEST_CASE("gathered key lists hold exactly the keys some row of the tile may use") {
  Rng rng(11);
  for (const char* mask : kMasks)
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t nk = 1 + static_cast<int64_t>(rng.uniform() * 120);
      const int64_t nq = trial % 2 ? nk : 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(nk));
      const int br = 1 + static_cast<int>(rng.uniform() * 24);
      const AttentionSpec spec = spec_for(mask, nq, nk);
      const MaskView view = spec.mask.view();
      const GatheredMask gm = build_gathered_mask(spec, br);
      INFO(mask, " nq=", nq, " nk=", nk, " br=", br);
      int64_t pairs = 0;
      for (int64_t i = 0; i < gm.tiles.tr; ++i) {
        std::vector<int32_t> want;
        for (int64_t k = 0; k < nk; ++k)
          for (int64_t r = gm.tiles.row_begin(i); r < gm.tiles.row_end(i); ++r)
            if (spec.allowed(view, r, k)) { want.push_back(static_cast<int32_t>(k)); break; }
        CHECK(gm.keys[static_cast<size_t>(i)] == want);
        pairs += (gm.tiles.row_end(i) - gm.tiles.row_begin(i)) * static_cast<int64_t>(want.size());
      }
      CHECK(gm.gathered_pairs == pairs);
    }
}

TEST_CASE("density statistics of causal and window masks follow their formulas") {
  // Causal N x N: N(N+1)/2 allowed pairs; with Br = Bc = 64 and N a multiple of 64, the T diagonal tiles are
  // partial and T(T-1)/2 tiles are full.
  const int64_t n = 1024, t = n / 64;
  const BlockMask bm = build_block_mask(spec_for("causal", n, n), 64, 64, true);
  CHECK(bm.stats.allowed_pairs == n * (n + 1) / 2);
  CHECK(bm.stats.partial == t);
  CHECK(bm.stats.full == t * (t - 1) / 2);
  CHECK(bm.stats.element_density() == doctest::Approx(static_cast<double>(n + 1) / (2.0 * static_cast<double>(n))));
  // Window left W, right 0 with causal: row q sees min(q, W) + 1 keys.
  const int64_t w = 100;
  int64_t want = 0;
  for (int64_t q = 0; q < n; ++q) want += std::min(q, w) + 1;
  CHECK(count_allowed_pairs(spec_for("window:100,0+causal", n, n)) == want);
}

TEST_CASE("mask_row equals MaskView::allowed for every pattern, row and key range") {
  Rng rng(23);
  for (const char* mask : kMasks)
    for (int trial = 0; trial < 30; ++trial) {
      const AttentionSpec spec = spec_for(mask, 1, 1);
      const MaskView view = spec.mask.view();
      const int64_t q = static_cast<int64_t>(rng.uniform() * 200);
      const int64_t k0 = static_cast<int64_t>(rng.uniform() * 150);
      const int64_t k1 = k0 + static_cast<int64_t>(rng.uniform() * 120);
      std::vector<uint8_t> got(static_cast<size_t>(k1 - k0) + 1, 7);
      mask_row(view, q, k0, k1, got.data());
      INFO(std::string(mask), " q=", q, " keys ", k0, "..", k1);
      for (int64_t k = k0; k < k1; ++k) CHECK(got[static_cast<size_t>(k - k0)] == (view.allowed(q, k) ? 1 : 0));
      CHECK(got.back() == 7);  // nothing written past k1
    }
}
