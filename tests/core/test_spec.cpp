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
  CHECK(any_contains(p, "head dim 0: must be 1..256"));
  CHECK(any_contains(p, "sequence length N 0: must be 1.."));
  CHECK(any_contains(p, "batch -1: must be 1.."));
  CHECK(p.size() >= 4);

  AttentionSpec h;
  h.head_dim = 300;
  CHECK(any_contains(validate(h), "head dim 300: must be 1..256"));

  AttentionSpec g;
  g.q_heads = 6;
  g.kv_heads = 4;
  CHECK(any_contains(validate(g), "query heads 6 is not a multiple of KV heads 4"));

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
  // 100000² entries × 4 bytes = 4.0e10 bytes = 37.3 GiB; the limit 4 · 2³⁰ bytes = 4.0 GiB.
  CHECK(any_contains(p, "N = 100000 needs 37.3 GiB for one head's score matrix on the CPU backend"));
  CHECK(any_contains(p, "limit is 4.0 GiB"));
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

TEST_CASE("byte formatting: binary prefixes everywhere") {
  CHECK(format_bytes(4.0e10) == "37.3 GiB");  // one convention: never a decimal "40.0 GB"
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1024) == "1.0 KiB");
  CHECK(format_bytes(1023.97 * 1024) == "1.0 MiB");  // never "1024.0 KiB"
  CHECK(format_bytes(17179869184.0) == "16.0 GiB");
  CHECK(format_bytes_binary(256.0 * (1ull << 30)) == "256.0 GiB");
}

TEST_CASE("error texts use the UI's words, never the struct's field names") {
  const char* internal[] = {"q_heads", "kv_heads", "head_dim", "d_head", "h_q", "kv_len", "q_len"};
  AttentionSpec s;
  s.q_heads = 0;
  s.kv_heads = 0;
  s.head_dim = 0;
  s.kv_len = 0;
  AttentionSpec g;
  g.q_heads = 6;
  g.kv_heads = 4;
  std::vector<std::string> messages = validate(s);
  for (const std::string& m : validate(g)) messages.push_back(m);
  REQUIRE(messages.size() >= 5);
  for (const std::string& m : messages) {
    INFO(m);
    for (const char* name : internal) CHECK(m.find(name) == std::string::npos);
  }
  CHECK(any_contains(messages, "query heads 0: must be 1.."));
  CHECK(any_contains(messages, "KV heads 0: must be 1.."));
}

TEST_CASE("an echoed input is cut to 40 characters with its length") {
  CHECK(quote_input("window:64") == "'window:64'");
  const std::string long_term = "grid:64:" + std::string(500, '0');
  const std::string q = quote_input(long_term);
  CHECK(q == "'grid:64:" + std::string(32, '0') + "…' (508 characters)");
  CHECK(shorten_input(std::string(45, 'x')) == std::string(40, 'x') + "… (45 characters)");
  CHECK(shorten_input("12") == "12");
  // UTF-8: characters are counted, never split ("µ" is 2 bytes).
  CHECK(quote_input(std::string(41, 'a') + "µ", 41) == "'" + std::string(41, 'a') + "…' (42 characters)");
  CHECK(quote_input("µµµ", 2) == "'µµ…' (3 characters)");
  // A pasted mask that is bad in a long term: the message names the term in at most ~40 characters.
  const MaskParseResult bad = parse_mask("window:8+" + std::string(600, 'z'));
  REQUIRE_FALSE(bad.error.empty());
  CHECK(bad.error.find(std::string(41, 'z')) == std::string::npos);  // no run of the input past 40 characters
  CHECK(bad.error.find("(600 characters)") != std::string::npos);
}
