// test_allowed_pairs.cpp — the row-by-row allowed-pair count equals brute force over MaskView::allowed for every
// pattern and their unions, odd sizes (1, 17, 1000) and decode-style query offsets; random terms beyond the budget
// give their expected count, marked as not exact; term parameters near 2^63 count as "every key".
#include <doctest/doctest.h>

#include "tests/common/mask_spec.hpp"

#include <cmath>
#include <string>

#include "core/allowed_pairs.hpp"
#include "core/block_mask.hpp"
#include "core/rng.hpp"

using namespace attnscope;
using attnscope::test::spec_for;

namespace {

int64_t brute_force(const AttentionSpec& spec) {
  const MaskView view = spec.mask.view();
  int64_t n = 0;
  for (int64_t r = 0; r < spec.q_len; ++r)
    for (int64_t k = 0; k < spec.kv_len; ++k) n += spec.allowed(view, r, k) ? 1 : 0;
  return n;
}

const char* kPatterns[] = {
    "dense", "causal", "window:5", "window:3,9", "window:0", "window:17,0+causal", "strided:8,2", "strided:7,0+causal",
    "strided:1", "dilated:40,3", "dilated:9,1", "dilated:0,5", "random:0.3,7,8", "random:0.6,2,1", "random:0,3,2",
    "random:1,3,5", "global:3", "global:0", "global:5+window:2+causal", "grid:8:101/010/111", "grid:3:1101/0110",
    "window:2+dilated:30,4", "strided:6,3+window:4,0", "strided:6+strided:4+dilated:40,3",
    "strided:6+strided:10+strided:15+causal", "dilated:50,4+dilated:50,6+window:1", "random:0.3,1,4+random:0.4,2,3",
    "random:0.3,1,4+random:0.5,1,4", "random:0.2,9,2+strided:5,1+global:2+causal", "grid:5:10/01+random:0.5,4,3",
    "window:9223372036854775807", "window:9223372036854775807,0+causal", "strided:9223372036854775807,3",
    "dilated:9223372036854775807,9223372036854775807", "global:9223372036854775807",
    "random:0.5,18446744073709551615,9223372036854775807", "strided:1099511627776,1+dilated:1099511627775,3",
    "grid:9223372036854775807:1", "grid:9223372036854775807:0+window:2"};

}  // namespace

TEST_CASE("allowed-pair count equals brute force for every pattern, odd sizes and query offsets") {
  Rng rng(11);
  for (const char* pattern : kPatterns) {
    for (int64_t nk : {int64_t{1}, int64_t{17}, 2 + static_cast<int64_t>(rng.uniform() * 150)}) {
      for (int64_t nq : {nk, 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(nk))}) {
        const AttentionSpec spec = spec_for(pattern, nq, nk);
        INFO(pattern, " nq=", nq, " nk=", nk);
        const int64_t want = brute_force(spec);
        const AllowedPairs got = count_allowed_pattern(spec);
        CHECK(got.exact);
        CHECK(got.pairs == static_cast<double>(want));
        CHECK(count_allowed_pairs(spec) == want);
      }
    }
  }
}

TEST_CASE("allowed-pair count at N = 1000 equals brute force (long rows, many random cells)") {
  for (const char* pattern : {"random:0.5", "random:0.05,3,7+window:64+global:8+causal", "strided:64,8+dilated:300,3",
                              "grid:100:1011/0110/1101+causal", "window:9223372036854775807+causal"}) {
    const AttentionSpec spec = spec_for(pattern, 1000, 1000);
    INFO(pattern);
    const AllowedPairs got = count_allowed_pattern(spec);
    CHECK(got.exact);
    CHECK(got.pairs == static_cast<double>(brute_force(spec)));
  }
}

TEST_CASE("regions: partial rectangles at any offset count like brute force") {
  Rng rng(5);
  for (const char* pattern : kPatterns) {
    const AttentionSpec spec = spec_for(pattern, 60, 60);
    const MaskView view = spec.mask.view();
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t q0 = static_cast<int64_t>(rng.uniform() * 60), k0 = static_cast<int64_t>(rng.uniform() * 60);
      const int64_t q1 = q0 + 1 + static_cast<int64_t>(rng.uniform() * 23), k1 = k0 + 1 + static_cast<int64_t>(rng.uniform() * 29);
      int64_t want = 0;
      for (int64_t q = q0; q < q1; ++q)
        for (int64_t k = k0; k < k1; ++k) want += view.allowed(q, k) ? 1 : 0;
      INFO(pattern, " rows ", q0, "..", q1, " keys ", k0, "..", k1);
      CHECK(count_allowed_in_region(view, q0, q1, k0, k1).pairs == static_cast<double>(want));
      CHECK(count_allowed(view, q0, q1, k0, k1) == want);
    }
  }
}

TEST_CASE("random cells beyond the budget: the expected count, marked not exact, close to the real one") {
  for (const char* pattern : {"random:0.5", "random:0.2,5,3+window:10+causal", "random:0.3,1,4+random:0.4,2,1"}) {
    const AttentionSpec spec = spec_for(pattern, 600, 701);
    INFO(pattern);
    const AllowedPairs exact = count_allowed_pattern(spec);
    const AllowedPairs expected = count_allowed_pattern(spec, /*exact_budget=*/1000);
    CHECK(exact.exact);
    CHECK_FALSE(expected.exact);
    // Binomial spread of ~4·10^5 cells: a few hundred pairs; 1% of the count is far outside it.
    CHECK(std::fabs(expected.pairs - exact.pairs) < 0.01 * exact.pairs);
  }
  // Only deterministic terms: exact whatever the budget.
  const AllowedPairs window = count_allowed_pattern(spec_for("window:30+causal", 500, 500), 1);
  CHECK(window.exact);
  CHECK(window.pairs == static_cast<double>(brute_force(spec_for("window:30+causal", 500, 500))));
}

TEST_CASE("window near 2^63 allows every key: rho of causal is (N+1)/2N, not a wrapped count") {
  const AttentionSpec spec = spec_for("window:9223372036854775807,9223372036854775807+causal", 1000, 1000);
  CHECK(count_allowed_pattern(spec).pairs == 1000.0 * 1001.0 / 2.0);
  const AttentionSpec all = spec_for("window:9223372036854775807", 40, 40);
  CHECK(count_allowed_pattern(all).pairs == 1600.0);
}

TEST_CASE("large N is counted without visiting pairs") {
  // 2^20 x 2^20 pairs would take minutes pair by pair; row by row it is a million short rows.
  const int64_t n = int64_t{1} << 20;
  const AttentionSpec causal = spec_for("window:1000,0+causal", n, n);
  const AllowedPairs got = count_allowed_pattern(causal);
  CHECK(got.exact);
  // Rows 0..999 see q+1 keys, the rest 1001.
  CHECK(got.pairs == static_cast<double>(1000 * 1001 / 2 + (n - 1000) * 1001));
  const AllowedPairs random = count_allowed_pattern(spec_for("random:0.25+global:4", n, n));
  CHECK_FALSE(random.exact);
  const double p = 0.25, fixed_pairs = 4.0 * static_cast<double>(n) * 2 - 16;
  CHECK(random.pairs == doctest::Approx(fixed_pairs + p * (static_cast<double>(n) * static_cast<double>(n) - fixed_pairs)));
}
