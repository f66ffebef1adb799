// test_finite_check.cpp — NaN/Inf in Q, K or V are found, the affected output rows follow the mask and GQA
// grouping (checked against brute force), and the CPU backend refuses such inputs instead of writing NaN rows or
// zero rows counted as "fully masked".
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/backend.hpp"
#include "core/cpu_backend.hpp"
#include "core/finite_check.hpp"

using namespace attnscope;

namespace {

AttentionInputs random_inputs(const std::string& mask, int64_t heads, int64_t kv_heads, int64_t nq, int64_t nk,
                              int64_t d, uint64_t seed) {
  AttentionSpec spec;
  spec.q_heads = heads;
  spec.kv_heads = kv_heads;
  spec.q_len = nq;
  spec.kv_len = nk;
  spec.head_dim = d;
  auto parsed = parse_mask(mask);
  REQUIRE(parsed.ok);
  spec.mask = parsed.mask;
  return generate_inputs(spec, Generator::Gaussian, seed);
}

// Output rows whose softmax sees a non-finite Q, K or V value, pair by pair.
int64_t brute_force_affected(const AttentionInputs& in) {
  const AttentionSpec& s = in.spec;
  const MaskView view = s.mask.view();
  auto finite = [&](const float* row) {
    for (int64_t c = 0; c < s.head_dim; ++c)
      if (!std::isfinite(row[c])) return false;
    return true;
  };
  int64_t n = 0;
  for (int64_t h = 0; h < s.q_heads; ++h)
    for (int64_t i = 0; i < s.q_len; ++i) {
      bool bad = !finite(in.q_row(0, h, i));
      for (int64_t j = 0; j < s.kv_len && !bad; ++j)
        bad = s.allowed(view, i, j) &&
              (!finite(in.k_row(0, s.kv_head_of(h), j)) || !finite(in.v_row(0, s.kv_head_of(h), j)));
      n += bad ? 1 : 0;
    }
  return n;
}

}  // namespace

TEST_CASE("finite inputs report nothing") {
  const AttentionInputs in = random_inputs("causal", 3, 1, 17, 17, 5, 41);
  CHECK_FALSE(find_non_finite(in).any());
}

TEST_CASE("NaN in Q affects exactly its row; the position is named") {
  AttentionInputs in = random_inputs("dense", 2, 2, 17, 23, 7, 42);
  in.q[static_cast<size_t>(((1 * 17) + 3) * 7 + 2)] = std::numeric_limits<float>::quiet_NaN();  // head 1, row 3
  const NonFiniteReport r = find_non_finite(in);
  REQUIRE(r.any());
  CHECK(r.q.nan == 1);
  CHECK(r.k.count() == 0);
  CHECK(r.affected_rows == 1);
  CHECK(r.total_rows == 34);
  CHECK(r.q.first_position == "batch 0, head 1, row 3, column 2");
  const std::string text = r.describe("Q", "K", "V");
  CHECK(text.find("Q has 1 NaN (first at batch 0, head 1, row 3, column 2)") == 0);
  CHECK(text.find("K, V are finite") != std::string::npos);
  CHECK(text.find("1 of 34 output rows") != std::string::npos);
}

TEST_CASE("Inf in K or V affects the rows whose mask allows that key, in every head of its group") {
  for (const char* mask : {"causal", "window:3", "strided:5,1+causal", "dense"}) {
    AttentionInputs in = random_inputs(mask, 4, 2, 13, 19, 3, 43);
    // K: kv head 1, key 9 (+Inf); V: kv head 0, key 17 (-Inf).
    in.k[static_cast<size_t>((1 * 19 + 9) * 3 + 1)] = std::numeric_limits<float>::infinity();
    in.v[static_cast<size_t>((0 * 19 + 17) * 3)] = -std::numeric_limits<float>::infinity();
    const NonFiniteReport r = find_non_finite(in);
    INFO(mask);
    CHECK(r.k.inf == 1);
    CHECK(r.v.inf == 1);
    CHECK(r.affected_exact);
    CHECK(r.affected_rows == brute_force_affected(in));
    CHECK(r.affected_rows > 0);
  }
}

TEST_CASE("the CPU backend refuses non-finite inputs instead of writing NaN or 'fully masked' zero rows") {
  auto backend = make_cpu_backend(1);
  for (Algorithm algorithm : {Algorithm::Naive, Algorithm::Flash, Algorithm::Reference}) {
    AttentionInputs in = random_inputs("causal", 1, 1, 21, 21, 8, 44);
    in.q[8 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
    RunRequest req;
    req.algorithm = algorithm;
    req.inputs = &in;
    const RunResult r = backend->run(req);
    INFO(algorithm_name(algorithm));
    CHECK_FALSE(r.ok);
    CHECK(r.fully_masked_rows == 0);
    CHECK(r.error.find("non-finite inputs: Q has 1 NaN (first at batch 0, head 0, row 4, column 1)") == 0);
    // The same inputs made finite run.
    in.q[8 * 4 + 1] = 0.5f;
    CHECK(backend->run(req).ok);
  }
}

TEST_CASE("values beyond fp16's range are found like non-finite ones (they would be stored as ±Inf)") {
  AttentionInputs in = random_inputs("window:2", 1, 1, 15, 15, 6, 45);
  CHECK_FALSE(find_beyond(in, kFp16Overflow).any());
  in.v[static_cast<size_t>(4 * 6 + 5)] = 70000.0f;   // V row 4: rows 2..6 see it through window:2
  in.q[0] = 65504.0f;                                 // the largest fp16 value: fine
  const NonFiniteReport r = find_beyond(in, kFp16Overflow);
  CHECK_FALSE(find_non_finite(in).any());
  REQUIRE(r.any());
  CHECK(r.v.inf == 1);
  CHECK(r.q.count() == 0);
  CHECK(r.affected_rows == 5);
  CHECK(r.describe("Q", "K", "V").find("V has 1 value of magnitude 65520 or more (first at batch 0, head 0, row 4, "
                                       "column 5); Q, K are within range") == 0);
}
