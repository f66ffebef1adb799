// test_spec.cpp — AttentionSpec validation names every problem in words.
#include <doctest/doctest.h>

#include <string>

#include "tests/common/test_util.hpp"
#include "core/spec.hpp"

using namespace attnscope;
using attnscope::test::any_contains;

TEST_CASE("a default spec is valid and its scale is 1/sqrt(d)") {
  AttentionSpec s;
  CHECK(validate(s).empty());
  s.head_dim = 64;
  CHECK(s.softmax_scale() == doctest::Approx(0.125));
  s.scale = 0.5;
  CHECK(s.softmax_scale() == 0.5);
}

TEST_CASE("every bad field is reported, each with its value and rule") {
  AttentionSpec s;
  s.head_dim = 0;
  s.kv_len = s.q_len = 0;
  s.batch = -1;
  auto p = validate(s);
  CHECK(any_contains(p, "head_dim 0: must be 1..256"));
  CHECK(any_contains(p, "N (key length) 0: must be 1.."));
  CHECK(any_contains(p, "batch -1: must be 1.."));
  CHECK(p.size() >= 4);

  AttentionSpec h;
  h.head_dim = 300;
  CHECK(any_contains(validate(h), "head_dim 300: must be 1..256"));

  AttentionSpec g;
  g.q_heads = 6;
  g.kv_heads = 4;
  CHECK(any_contains(validate(g), "q_heads 6 is not a multiple of kv_heads 4"));

  AttentionSpec q;
  q.q_len = 10;
  q.kv_len = 5;
  CHECK(any_contains(validate(q), "query length 10 exceeds key length 5"));

  AttentionSpec m;
  m.mask.terms.push_back({MaskTermKind::Window, -3, 0});
  CHECK(any_contains(validate(m), "left extent -3 must be >= 0"));

  AttentionSpec r;
  r.mask.terms.push_back({MaskTermKind::Random, 0, 1, 1.5});
  CHECK(any_contains(validate(r), "density 1.5 must be in [0, 1]"));
}

TEST_CASE("a score matrix beyond the backend's memory is refused with the numbers") {
  AttentionSpec s;
  s.q_len = s.kv_len = 100000;
  SpecLimits limits;
  limits.score_matrix_bytes = uint64_t{4} << 30;
  auto p = validate(s, limits);
  REQUIRE(p.size() == 1);
  // 100000² entries × 4 bytes = 4.0e10 bytes = 40.0 GB.
  CHECK(any_contains(p, "N = 100000 needs 40.0 GB for one head's score matrix on the CPU backend"));
  CHECK(any_contains(p, "limit is 4.3 GB"));
  // An algorithm that works tile by tile is not refused for a matrix it never stores.
  CHECK(validate(s, limits, /*stores_score_matrix=*/false).empty());
}

TEST_CASE("GQA head mapping and decode positions") {
  AttentionSpec s;
  s.q_heads = 32;
  s.kv_heads = 8;
  CHECK(s.group_size() == 4);
  CHECK(s.kv_head_of(0) == 0);
  CHECK(s.kv_head_of(3) == 0);
  CHECK(s.kv_head_of(4) == 1);
  CHECK(s.kv_head_of(31) == 7);
  s.q_len = 1;
  s.kv_len = 1000;
  CHECK(s.query_position(0) == 999);  // the new token sits at the end of the cache
}

TEST_CASE("byte formatting") {
  CHECK(format_bytes(4.0e10) == "40.0 GB");
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes_binary(256.0 * (1ull << 30)) == "256.0 GiB");
}
