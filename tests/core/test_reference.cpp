// test_reference.cpp — the reference attention against an independent formulation and hand-checked cases.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/reference.hpp"
#include "core/rng.hpp"

using namespace attnscope;

namespace {
AttentionSpec make_spec(int64_t n, int64_t d, const std::string& mask, int64_t heads = 1, int64_t kv_heads = 1) {
  AttentionSpec s;
  s.q_len = s.kv_len = n;
  s.head_dim = d;
  s.q_heads = heads;
  s.kv_heads = kv_heads;
  auto parsed = parse_mask(mask);
  REQUIRE(parsed.ok);
  s.mask = parsed.mask;
  return s;
}
}  // namespace

TEST_CASE("hand-checked: one query, two keys") {
  // q = (1, 0), k0 = (2, 0), k1 = (0, 0); scale 1/sqrt(2): s = (2/√2, 0) = (√2, 0).
  // p0 = e^√2 / (e^√2 + 1), p1 = 1 / (e^√2 + 1); o = p0 v0 + p1 v1.
  AttentionInputs in;
  in.spec = make_spec(2, 2, "dense");
  in.spec.q_len = 1;
  in.q = {1, 0};
  in.k = {2, 0, 0, 0};
  in.v = {1, 2, 3, 5};
  auto head = reference_head(in, 0, 0);
  const double e = std::exp(std::sqrt(2.0));
  const double p0 = e / (e + 1), p1 = 1 / (e + 1);
  CHECK(head.scores[0] == doctest::Approx(std::sqrt(2.0)));
  CHECK(head.scores[1] == doctest::Approx(0.0));
  CHECK(head.probabilities[0] == doctest::Approx(p0));
  CHECK(head.output[0] == doctest::Approx(p0 * 1 + p1 * 3));
  CHECK(head.output[1] == doctest::Approx(p0 * 2 + p1 * 5));
}

TEST_CASE("rows of P sum to 1, masked entries are exactly 0, and match an independent log-sum-exp formulation") {
  for (const char* mask : {"dense", "causal", "window:5+global:2", "strided:4,1+causal", "random:0.3,9"}) {
    INFO(mask);
    auto in = generate_inputs(make_spec(37, 8, mask), Generator::Gaussian, 1234);
    auto head = reference_head(in, 0, 0);
    const auto view = in.spec.mask.view();
    const double scale = in.spec.softmax_scale();
    for (int64_t i = 0; i < head.rows; ++i) {
      // Independent: p_j = exp(s_j - logsumexp(s)) in long double, scores recomputed from Q and K.
      long double lse_max = -std::numeric_limits<long double>::infinity();
      std::vector<long double> s(static_cast<size_t>(head.cols));
      for (int64_t j = 0; j < head.cols; ++j) {
        long double dot = 0;
        for (int c = 0; c < 8; ++c) dot += (long double)in.q_row(0, 0, i)[c] * in.k_row(0, 0, j)[c];
        s[j] = dot * scale;
        if (view.allowed(i, j)) lse_max = std::max(lse_max, s[j]);
      }
      long double sum = 0;
      for (int64_t j = 0; j < head.cols; ++j)
        if (view.allowed(i, j)) sum += std::exp(s[j] - lse_max);
      const long double lse = lse_max + std::log(sum);
      double row_sum = 0;
      for (int64_t j = 0; j < head.cols; ++j) {
        const double p = head.probabilities[i * head.cols + j];
        row_sum += p;
        if (!view.allowed(i, j)) {
          CHECK(p == 0.0);
          CHECK(std::isinf(head.scores[i * head.cols + j]));
        } else {
          CHECK(p == doctest::Approx(static_cast<double>(std::exp(s[j] - lse))).epsilon(1e-12));
        }
      }
      CHECK(row_sum == doctest::Approx(1.0).epsilon(1e-12));
    }
    CHECK(head.fully_masked_rows.empty());
  }
}

TEST_CASE("a fully masked row has zero output and is reported") {
  // grid:2:00/11 masks rows 0-1 entirely; rows 2-3 see keys 0-3.
  auto in = generate_inputs(make_spec(4, 4, "grid:2:00/11"), Generator::Gaussian, 5);
  auto head = reference_head(in, 0, 0);
  REQUIRE(head.fully_masked_rows.size() == 2);
  CHECK(head.fully_masked_rows[0] == 0);
  CHECK(head.fully_masked_rows[1] == 1);
  for (int c = 0; c < 8; ++c) CHECK(head.output[c] == 0.0);
  for (int j = 0; j < 8; ++j) CHECK(head.probabilities[j] == 0.0);
  auto all = reference_attention(in);
  CHECK(all.fully_masked_rows == 2);
  for (int c = 0; c < 8; ++c) CHECK(all.output[c] == 0.0);
}

TEST_CASE("reference_attention agrees with reference_head for every head, including GQA") {
  auto spec = make_spec(19, 16, "window:3+causal", 4, 2);
  spec.batch = 2;
  auto in = generate_inputs(spec, Generator::Gaussian, 77);
  auto all = reference_attention(in);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 4; ++h) {
      auto head = reference_head(in, b, h);
      for (int64_t e = 0; e < 19 * 16; ++e)
        CHECK(all.output[((b * 4 + h) * 19) * 16 + e] == head.output[e]);
    }
}

TEST_CASE("GQA: query heads of one group read the same KV head") {
  auto spec = make_spec(9, 4, "dense", 4, 2);
  auto in = generate_inputs(spec, Generator::Gaussian, 3);
  // Give query heads 0 and 1 (group of KV head 0) identical queries: their outputs must match,
  // while head 2 (KV head 1) with the same queries differs.
  for (int64_t i = 0; i < 9 * 4; ++i) in.q[1 * 36 + i] = in.q[2 * 36 + i] = in.q[i];
  auto h0 = reference_head(in, 0, 0), h1 = reference_head(in, 0, 1), h2 = reference_head(in, 0, 2);
  CHECK(h0.output == h1.output);
  CHECK(h0.output != h2.output);
}

TEST_CASE("generators are deterministic per seed, and the positional one makes a diagonal band") {
  auto spec = make_spec(64, 32, "dense");
  auto a = generate_inputs(spec, Generator::Gaussian, 1), b = generate_inputs(spec, Generator::Gaussian, 1);
  auto c = generate_inputs(spec, Generator::Gaussian, 2);
  CHECK(a.q == b.q);
  CHECK(a.k == b.k);
  CHECK(a.q != c.q);
  for (float x : a.v) CHECK(std::isfinite(x));

  auto pos = generate_inputs(spec, Generator::Positional, 1);
  auto head = reference_head(pos, 0, 0);
  // Scores near the diagonal are higher on average than far from it.
  double near = 0, far = 0;
  int near_n = 0, far_n = 0;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 64; ++j) {
      if (std::abs(i - j) <= 1) { near += head.scores[i * 64 + j]; ++near_n; }
      if (std::abs(i - j) >= 16) { far += head.scores[i * 64 + j]; ++far_n; }
    }
  CHECK(near / near_n > far / far_n + 2.0);
}
