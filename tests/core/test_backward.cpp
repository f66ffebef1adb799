// test_backward.cpp — attention's backward pass: the double reference against finite differences at tiny sizes,
// and the naive and flash twins against the reference on fresh random inputs (odd sizes, tiles that do not
// divide N, masks, GQA/MQA, fully masked rows); every gradient element must be finite and match.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <string>

#include "core/backward.hpp"
#include "core/rng.hpp"

using namespace attnscope;

namespace {

uint64_t g_seed = 0xbacc;

AttentionSpec make_spec(int64_t b, int64_t h, int64_t hkv, int64_t nq, int64_t nk, int64_t d, const std::string& mask) {
  AttentionSpec s;
  s.batch = b; s.q_heads = h; s.kv_heads = hkv; s.q_len = nq; s.kv_len = nk; s.head_dim = d;
  auto parsed = parse_mask(mask);
  REQUIRE_MESSAGE(parsed.ok, mask, ": ", parsed.error);
  s.mask = parsed.mask;
  return s;
}

std::vector<float> random_like(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(2.0 * unit_interval(hash3(seed, i, 77)) - 1.0);
  return v;
}

// Loss L = Σ O ∘ G, so dL/dO = G. Central differences of L in double for one input element.
double loss(const AttentionInputs& in, const std::vector<float>& g) {
  const ReferenceOutput o = reference_attention(in);
  double l = 0;
  for (size_t i = 0; i < g.size(); ++i) l += o.output[i] * g[i];
  return l;
}

void check_close(const char* what, const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0, scale = 1e-6;
  int64_t not_finite = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) ++not_finite;
    worst = std::max(worst, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  INFO(what, ": max |error| ", worst, " against max |gradient| ", scale);
  CHECK(not_finite == 0);
  CHECK(worst <= 2e-4 * scale + 2e-5);
}

}  // namespace

TEST_CASE("backward reference equals finite differences of the forward pass") {
  for (const std::string mask : {"dense", "causal", "window:1"}) {
    const AttentionSpec spec = make_spec(1, 2, 1, 3, 5, 4, mask);  // GQA: two query heads share K and V
    AttentionInputs in = generate_inputs(spec, Generator::Gaussian, ++g_seed);
    const std::vector<float> g = random_like(in.q.size(), ++g_seed);
    const BackwardReference ref = reference_backward(in, g);
    const double h = 1e-3;
    auto numeric = [&](std::vector<float>& x, size_t i) {
      const float saved = x[i];
      x[i] = saved + static_cast<float>(h);
      const double up = loss(in, g);
      x[i] = saved - static_cast<float>(h);
      const double down = loss(in, g);
      x[i] = saved;
      return (up - down) / (2 * h);
    };
    INFO("mask ", mask);
    for (size_t i = 0; i < in.q.size(); ++i) CHECK(ref.dq[i] == doctest::Approx(numeric(in.q, i)).epsilon(2e-3).scale(1e-3));
    for (size_t i = 0; i < in.k.size(); ++i) CHECK(ref.dk[i] == doctest::Approx(numeric(in.k, i)).epsilon(2e-3).scale(1e-3));
    for (size_t i = 0; i < in.v.size(); ++i) CHECK(ref.dv[i] == doctest::Approx(numeric(in.v, i)).epsilon(2e-3).scale(1e-3));
  }
}

TEST_CASE("backward twins equal the reference: odd sizes, masks, GQA/MQA, a fully masked row") {
  ThreadPool pool(3);
  struct Case {
    int64_t b, h, hkv, nq, nk, d;
    const char* mask;
  } cases[] = {{1, 1, 1, 1, 1, 8, "dense"},        {1, 2, 2, 17, 17, 16, "dense"},
               {2, 4, 1, 17, 33, 8, "causal"},      {1, 4, 2, 100, 100, 32, "window:7+global:2"},
               {1, 2, 1, 65, 129, 64, "strided:16,3+causal"}, {1, 1, 1, 40, 40, 8, "random:0.3,5,4"},
               {1, 1, 1, 20, 20, 8, "grid:8:1"}};  // one painted 8×8 block: rows 8..19 are fully masked
  for (const Case& c : cases) {
    const AttentionSpec spec = make_spec(c.b, c.h, c.hkv, c.nq, c.nk, c.d, c.mask);
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, ++g_seed);
    const std::vector<float> g = random_like(in.q.size(), ++g_seed);
    const BackwardReference ref = reference_backward(in, g);
    INFO(spec.summary());
    if (std::string(c.mask) == "grid:8:1") CHECK(std::isinf(ref.lse[10]));  // the case has its empty rows
    const BackwardResult naive = naive_backward(in, g, pool);
    REQUIRE(naive.ok);
    check_close("naive dQ", naive.dq, ref.dq);
    check_close("naive dK", naive.dk, ref.dk);
    check_close("naive dV", naive.dv, ref.dv);
    const ForwardWithLse fwd = flash_forward_for_backward(in, pool);
    for (size_t i = 0; i < fwd.lse.size(); ++i) {
      if (std::isinf(ref.lse[i])) CHECK(std::isinf(fwd.lse[i]));
      else CHECK(fwd.lse[i] == doctest::Approx(ref.lse[i]).epsilon(1e-5));
    }
    for (TileConfig tiles : {TileConfig{16, 16}, TileConfig{7, 5}}) {
      const BackwardResult flash = flash_backward(in, fwd.output, fwd.lse, g, tiles, pool);
      REQUIRE(flash.ok);
      INFO("Br ", tiles.br, " Bc ", tiles.bc);
      check_close("flash dQ", flash.dq, ref.dq);
      check_close("flash dK", flash.dk, ref.dk);
      check_close("flash dV", flash.dv, ref.dv);
    }
  }
}

TEST_CASE("flash backward never stores an N×N matrix; naive stores two per worker") {
  ThreadPool pool(2);
  const AttentionSpec spec = make_spec(1, 2, 2, 1000, 1000, 8, "causal");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, ++g_seed);
  const std::vector<float> g = random_like(in.q.size(), ++g_seed);
  const ForwardWithLse fwd = flash_forward_for_backward(in, pool);
  const BackwardResult flash = flash_backward(in, fwd.output, fwd.lse, g, TileConfig{64, 64}, pool);
  const BackwardResult naive = naive_backward(in, g, pool);
  CHECK(flash.bytes_allocated < 1000u * 1000u);           // D and lse: per row, not per pair
  CHECK(naive.bytes_allocated >= 2u * 2u * 1000u * 1000u * 4u);  // P and dP (reused as dS), in each of 2 workers
}
