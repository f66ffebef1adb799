// test_cpu_twins.cpp — every CPU twin equals reference_attention on fresh random inputs: odd sizes,
// tiles that do not divide N, every mask pattern, GQA/MQA decode; outputs poisoned with NaN beforehand.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/cpu_twins.hpp"
#include "core/reference.hpp"

using namespace attnscope;

namespace {

uint64_t g_seed = 0x5eed;  // advanced per case, so every case sees fresh inputs

AttentionSpec make_spec(int64_t b, int64_t h, int64_t hkv, int64_t nq, int64_t nk, int64_t d, const std::string& mask) {
  AttentionSpec s;
  s.batch = b; s.q_heads = h; s.kv_heads = hkv; s.q_len = nq; s.kv_len = nk; s.head_dim = d;
  auto parsed = parse_mask(mask);
  REQUIRE_MESSAGE(parsed.ok, mask, ": ", parsed.error);
  s.mask = parsed.mask;
  return s;
}

// Runs the twin on poisoned output and compares with the reference: every element written and finite,
// |o - ref| <= 2e-5 + 2e-4·|ref| (float32 accumulation over up to a few thousand keys).
// Returns the twin's output.
std::vector<float> check_twin(Algorithm algo, const AttentionSpec& spec, TileConfig tiles, ThreadPool& pool,
                              Generator gen = Generator::Gaussian, VisitSplit split = VisitSplit::Auto,
                              int64_t* split_q_tiles = nullptr) {
  const AttentionInputs in = generate_inputs(spec, gen, ++g_seed);
  const ReferenceOutput ref = reference_attention(in);
  std::vector<float> out(static_cast<size_t>(spec.q_elements()), std::numeric_limits<float>::quiet_NaN());
  TwinOptions opt;
  opt.tiles = tiles;
  opt.visit_split = split;
  const TwinResult r = run_cpu_twin(algo, in, opt, pool, out.data());
  if (split_q_tiles) *split_q_tiles = r.split_q_tiles;
  INFO(algorithm_name(algo), " ", spec.summary(), " Br=", tiles.br, " Bc=", tiles.bc);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.fully_masked_rows == ref.fully_masked_rows);
  int64_t bad = 0, first_bad = -1;
  for (size_t e = 0; e < out.size(); ++e) {
    const double want = ref.output[e];
    const double got = out[e];
    if (!std::isfinite(got) || std::fabs(got - want) > 2e-5 + 2e-4 * std::fabs(want)) {
      if (first_bad < 0) first_bad = static_cast<int64_t>(e);
      ++bad;
    }
  }
  if (bad) {
    const size_t e = static_cast<size_t>(first_bad);
    FAIL_CHECK(bad, " of ", out.size(), " elements wrong; first at ", first_bad, ": got ", out[e], " want ",
               ref.output[e]);
  }
  return out;
}

const char* kMasks[] = {
    "dense", "causal", "window:5", "window:3,7", "window:16,0+causal", "strided:8,2", "strided:5,1+causal",
    "dilated:40,3", "random:0.3,7,8", "random:0.5,3,1", "global:3+window:2", "grid:8:10/01", "window:0,0",
    "global:2+strided:4,0+causal",
};

}  // namespace

TEST_CASE("flash, flash1, block-sparse and gathered equal the reference over shapes and every mask") {
  ThreadPool pool(2);
  const Algorithm algos[] = {Algorithm::Flash, Algorithm::Flash1, Algorithm::BlockSparse, Algorithm::Gathered,
                             Algorithm::Naive};
  struct Shape { int64_t b, h, hkv, nq, nk, d; TileConfig tiles; };
  const Shape shapes[] = {
      {1, 1, 1, 1, 1, 8, {64, 64}},      {1, 2, 1, 17, 17, 16, {8, 8}},  {2, 2, 2, 17, 33, 5, {16, 7}},
      {1, 1, 1, 70, 70, 32, {32, 24}},   {1, 4, 2, 9, 40, 3, {4, 16}},   {1, 1, 1, 100, 100, 1, {13, 9}},
  };
  for (auto& sh : shapes)
    for (const char* mask : kMasks)
      for (Algorithm a : algos) check_twin(a, make_spec(sh.b, sh.h, sh.hkv, sh.nq, sh.nk, sh.d, mask), sh.tiles, pool);
}

TEST_CASE("twins at N = 1000 and N = 4097 with tiles that do not divide N") {
  ThreadPool pool(2);
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash1, Algorithm::BlockSparse, Algorithm::Naive})
    check_twin(a, make_spec(1, 1, 1, 1000, 1000, 16, "causal"), {48, 40}, pool, Generator::Positional);
  check_twin(Algorithm::Gathered, make_spec(1, 1, 1, 1000, 1000, 8, "strided:32,4"), {64, 64}, pool);
  check_twin(Algorithm::Flash, make_spec(1, 1, 1, 4097, 4097, 4, "dense"), {64, 96}, pool);
  check_twin(Algorithm::BlockSparse, make_spec(1, 1, 1, 4097, 4097, 4, "window:100+causal"), {64, 64}, pool);
  check_twin(Algorithm::Gathered, make_spec(1, 1, 1, 4097, 4097, 4, "dilated:512,16"), {128, 64}, pool);
}

TEST_CASE("fully masked rows give zeros and are counted") {
  ThreadPool pool(2);
  // Queries 0..9 of a grid whose first row of cells is empty see no key at all.
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash1, Algorithm::BlockSparse, Algorithm::Gathered,
                      Algorithm::Naive})
    check_twin(a, make_spec(1, 2, 2, 30, 30, 8, "grid:10:000/110/011"), {8, 8}, pool);
}

TEST_CASE("split visit lists: block-sparse and gathered with splitting equal the unsplit twin and the reference") {
  ThreadPool pool(2);
  struct Case { Algorithm algo; int64_t n; const char* mask; TileConfig tiles; int64_t heads; };
  const Case cases[] = {
      {Algorithm::BlockSparse, 17, "window:1+global:1", {2, 1}, 2},
      {Algorithm::Gathered, 17, "window:1+global:1", {2, 1}, 1},
      {Algorithm::BlockSparse, 1000, "window:32+global:8", {16, 16}, 2},
      {Algorithm::BlockSparse, 1000, "window:16+global:4+random:0.05,9,16", {16, 16}, 1},
      {Algorithm::Gathered, 1000, "strided:64,16+global:4", {32, 16}, 1},
      {Algorithm::BlockSparse, 4097, "window:128+global:16", {64, 64}, 1},
      {Algorithm::Gathered, 4097, "dilated:256,8+global:2", {128, 64}, 1},
      // Rows 8 and 9 see no key, yet their Q tile (rows 8..11, 30 visits against a median of 10) is split.
      {Algorithm::BlockSparse, 30, "grid:10:000/111/010", {4, 1}, 2},
  };
  for (const Case& c : cases) {
    const AttentionSpec spec = make_spec(1, c.heads, 1, c.n, c.n, 8, c.mask);
    INFO(algorithm_name(c.algo), " ", spec.summary(), " Br=", c.tiles.br, " Bc=", c.tiles.bc);
    const uint64_t seed = g_seed;
    int64_t split_tiles = 0, unsplit_tiles = -1;
    const std::vector<float> split = check_twin(c.algo, spec, c.tiles, pool, Generator::Gaussian, VisitSplit::Auto,
                                                &split_tiles);
    g_seed = seed;  // the same inputs for the unsplit run
    const std::vector<float> whole = check_twin(c.algo, spec, c.tiles, pool, Generator::Gaussian, VisitSplit::Off,
                                                &unsplit_tiles);
    CHECK(split_tiles > 0);
    CHECK(unsplit_tiles == 0);
    REQUIRE(split.size() == whole.size());
    // The merge reorders float sums: the two agree to float rounding, not bit for bit.
    for (size_t e = 0; e < split.size(); ++e)
      if (std::fabs(split[e] - whole[e]) > 1e-5 + 1e-4 * std::fabs(whole[e])) {
        FAIL_CHECK("element ", e, ": split ", split[e], " unsplit ", whole[e]);
        break;
      }
  }
}

TEST_CASE("decode equals the reference for group sizes 1, 4, 8, 32 and several masks") {
  ThreadPool pool(2);
  for (int64_t group : {1, 4, 8, 32})
    for (const char* mask : {"dense", "causal", "window:100,0+causal", "strided:16,8", "random:0.4,11,16"})
      for (int64_t nk : {1, 17, 1000}) {
        const int64_t kv_heads = group == 32 ? 1 : 2;
        check_twin(Algorithm::Decode, make_spec(2, kv_heads * group, kv_heads, 1, nk, 16, mask), {64, 64}, pool);
      }
  // A few new queries at once (speculative decoding) and a cache length of 4097.
  check_twin(Algorithm::Decode, make_spec(1, 8, 2, 3, 4097, 8, "causal"), {64, 128}, pool);
}

TEST_CASE("twin errors are answers: bad tiles, decode with a long query, unknown algorithm") {
  ThreadPool pool(1);
  const AttentionInputs in = generate_inputs(make_spec(1, 1, 1, 128, 128, 8, "dense"), Generator::Gaussian, 3);
  std::vector<float> out(static_cast<size_t>(in.spec.q_elements()));
  TwinOptions opt;
  opt.tiles = {0, 64};
  auto r = run_cpu_twin(Algorithm::Flash, in, opt, pool, out.data());
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("Br 0") != std::string::npos);
  opt.tiles = {64, 64};
  r = run_cpu_twin(Algorithm::Decode, in, opt, pool, out.data());
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("decode") != std::string::npos);
  r = run_cpu_twin(Algorithm::FlashTensorCore, in, opt, pool, out.data());
  CHECK_FALSE(r.ok);
}
