// test_mask.cpp — every mask pattern on hand-checked cases and on properties; the text form.
#include <doctest/doctest.h>

#include "core/mask.hpp"

using namespace attnscope;

namespace {
MaskSpec parse_ok(const std::string& text) {
  auto r = parse_mask(text);
  INFO(text, " -> ", r.error);
  REQUIRE(r.ok);
  return r.mask;
}
}  // namespace

TEST_CASE("dense allows every pair and causal nothing above the diagonal") {
  auto dense = parse_ok("dense").view();
  auto causal = parse_ok("causal").view();
  for (int q = 0; q < 40; ++q)
    for (int k = 0; k < 40; ++k) {
      CHECK(dense.allowed(q, k));
      CHECK(causal.allowed(q, k) == (k <= q));
    }
}

TEST_CASE("window:L,R allows exactly L keys left and R keys right of the query") {
  auto m = parse_ok("window:3,1").view();
  CHECK(m.allowed(10, 7));
  CHECK_FALSE(m.allowed(10, 6));
  CHECK(m.allowed(10, 11));
  CHECK_FALSE(m.allowed(10, 12));
  const int n = 100;
  for (int q = 5; q < n - 5; ++q) {
    int count = 0;
    for (int k = 0; k < n; ++k) count += m.allowed(q, k);
    CHECK(count == 3 + 1 + 1);
  }
}
