// allowed_pairs.hpp — how many (query, key) pairs a mask allows, counted row by row from each term's structure,
// never by visiting pairs: the cost of a row is the number of intervals and progressions its terms give, so a
// whole N x N pattern costs O(N) for window, strided, dilated, global, causal and painted grids.
//
// Per row q (absolute position) and key range [k0, k1), causal first shortens the range to k <= q. The terms give
//   intervals      window [q-L, q+R], strided's band [q-B, q+B], global (all keys when q < G, else [0, G)),
//                  the runs of painted grid cells, and the runs of kept random cells
//   progressions   strided's columns k ≡ 0 (mod S), dilated's k ≡ q (mod S) within [q-W, q+W]
// The count is |∪ intervals| + |∪ progressions outside the intervals|; the second term is inclusion–exclusion
// over the progressions (their intersections by the Chinese remainder theorem) on each gap between intervals.
//
// Random terms are kept per cell by a seeded hash, so an exact count must evaluate every cell a row crosses:
// (rows) x (keys / block) hash evaluations. Within `exact_budget` of those the count is exact; beyond it the
// random terms enter by their exact expectation: a pair no other term allows is kept with probability
// P(hash < density) = ceil(density·2^53)/2^53 (terms with one seed and block are the same cells: the largest
// density; different ones are independent: 1 - Π(1 - p)). The result says which of the two it is.
#pragma once
#include <cstdint>

#include "core/mask.hpp"
#include "core/spec.hpp"

namespace attnscope {

// Row × cell-column evaluations of random terms allowed for an exact count (about a second on one core).
constexpr int64_t kExactRandomCellBudget = int64_t{1} << 25;

struct AllowedPairs {
  double pairs = 0;    // an integer when exact
  bool exact = true;   // false: the random terms' expected count (see the header comment)
};

// Rows [q0, q1) (absolute positions) x keys [k0, k1).
AllowedPairs count_allowed_in_region(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                                     int64_t exact_budget = kExactRandomCellBudget);

// The whole spec's pattern for one head: q_len rows placed at the end of kv_len keys.
AllowedPairs count_allowed_pattern(const AttentionSpec& spec, int64_t exact_budget = kExactRandomCellBudget);

}  // namespace attnscope
