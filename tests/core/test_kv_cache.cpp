// test_kv_cache.cpp — the paged KV cache model (block table growth page by page, pool exhaustion, release),
// the paged decode CPU twin against the double-precision reference (q_len = 1) over cache lengths, group sizes,
// page sizes and shuffled pools, the split plan, the footprint formulas against the cost model, and the CPU
// decode loop.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"
#include "core/reference.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {
namespace {

uint64_t fresh_seed() {
  static std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

TEST_CASE("page sizes: powers of two in 16..256, everything else named as a problem") {
  for (int64_t p : {16, 32, 64, 128, 256}) CHECK(page_size_problem(p).empty());
  for (int64_t p : {0, -16, 1, 8, 24, 100, 512}) {
    CAPTURE(p);
    const std::string why = page_size_problem(p);
    CHECK(why.find("page size " + std::to_string(p)) != std::string::npos);
    CHECK(why.find("power of two") != std::string::npos);
  }
}

TEST_CASE("the block table grows one page whenever the last page is full") {
  for (int64_t P : {16, 64, 256}) {
    CAPTURE(P);
    PagedKvCache cache(3, P, 3 * pages_for(700, P));
    for (int64_t t = 1; t <= 700; ++t) {
      for (int64_t s = 0; s < 3; ++s) {
        const auto a = cache.append(s, 1);
        REQUIRE(a.ok);
        // A new page exactly when the previous token filled the last page (t = 1, P + 1, 2P + 1, ...).
        CHECK(a.new_pages == ((t - 1) % P == 0 ? 1 : 0));
        CHECK(cache.length(s) == t);
        CHECK(static_cast<int64_t>(cache.block_table(s).size()) == pages_for(t, P));
      }
      CHECK(cache.pages_in_use() == 3 * pages_for(t, P));
      CHECK(cache.slack_tokens() == 3 * (pages_for(t, P) * P - t));
    }
    // Every physical page belongs to exactly one sequence.
    std::set<int32_t> seen;
    for (int64_t s = 0; s < 3; ++s)
      for (int32_t page : cache.block_table(s)) CHECK(seen.insert(page).second);
    CHECK(static_cast<int64_t>(seen.size()) == cache.pages_in_use());
    // Appending token by token in turn interleaves the sequences' pages.
    CHECK(cache.block_table(0)[1] != cache.block_table(0)[0] + 1);
  }
}

TEST_CASE("a full pool refuses an append without changing anything; release returns the pages") {
  PagedKvCache cache(2, 16, 5);
  REQUIRE(cache.append(0, 48).ok);  // 3 pages
  REQUIRE(cache.append(1, 20).ok);  // 2 pages: the pool is full
  CHECK(cache.free_pages() == 0);
  CHECK(cache.append(1, 12).ok);    // fits in the second page's 12 free rows
  const auto refused = cache.append(1, 1);
  CHECK_FALSE(refused.ok);
  CHECK(refused.error.find("page pool is full") != std::string::npos);
  CHECK(cache.length(1) == 32);
  CHECK(cache.pages_in_use() == 5);
  CHECK_FALSE(cache.append(7, 1).ok);
  CHECK_FALSE(cache.append(0, -1).ok);
  cache.release(0);
  CHECK(cache.length(0) == 0);
  CHECK(cache.free_pages() == 3);
  CHECK(cache.append(1, 48).ok);
  CHECK(cache.block_table(1).size() == 5);
  const auto matrix = cache.block_table_matrix(6);
  CHECK(matrix.size() == 12);
  CHECK(matrix[0] == -1);    // sequence 0 has no pages now
  CHECK(matrix[6 + 5] == -1);
  CHECK(matrix[6 + 4] == cache.block_table(1)[4]);
}

TEST_CASE("a shuffled pool hands out pages out of order") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  PagedKvCache cache(1, 16, 64, seed | 1);
  REQUIRE(cache.append(0, 64 * 16).ok);
  std::vector<int32_t> t = cache.block_table(0);
  std::vector<int32_t> sorted = t;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 64; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  CHECK(t != sorted);
}

// Per sequence b: AttentionInputs with q_len 1 and kv_len lengths[b]; the store is filled token by token
// across the sequences (interleaving their pages) from a shuffled pool.
struct PagedCase {
  std::vector<AttentionInputs> inputs;
  PagedKvStore store;
  std::vector<float> q;
};

PagedCase make_case(const std::vector<int64_t>& lengths, int64_t q_heads, int64_t kv_heads, int64_t d, int64_t P,
                    uint64_t seed) {
  PagedCase c;
  int64_t pages = 0, max_len = 0;
  for (int64_t n : lengths) { pages += pages_for(n, P); max_len = std::max(max_len, n); }
  const int64_t B = static_cast<int64_t>(lengths.size());
  c.store = PagedKvStore(B, kv_heads, d, P, pages + 3, seed ^ 0x5bd1e995);
  for (int64_t b = 0; b < B; ++b) {
    AttentionSpec spec;
    spec.batch = 1;
    spec.q_heads = q_heads;
    spec.kv_heads = kv_heads;
    spec.q_len = 1;
    spec.kv_len = lengths[static_cast<size_t>(b)];
    spec.head_dim = d;
    c.inputs.push_back(generate_inputs(spec, Generator::Gaussian, seed + static_cast<uint64_t>(b)));
    c.q.insert(c.q.end(), c.inputs.back().q.begin(), c.inputs.back().q.end());
  }
  std::vector<float> kt(static_cast<size_t>(kv_heads * d)), vt(kt.size());
  for (int64_t t = 0; t < max_len; ++t)
    for (int64_t b = 0; b < B; ++b) {
      if (t >= lengths[static_cast<size_t>(b)]) continue;
      const AttentionInputs& in = c.inputs[static_cast<size_t>(b)];
      for (int64_t h = 0; h < kv_heads; ++h) {
        std::copy_n(in.k_row(0, h, t), d, kt.begin() + h * d);
        std::copy_n(in.v_row(0, h, t), d, vt.begin() + h * d);
      }
      std::string error;
      REQUIRE_MESSAGE(c.store.append_token(b, kt.data(), vt.data(), &error), error);
    }
  return c;
}

void check_against_reference(const PagedCase& c, const std::vector<float>& out, int64_t q_heads, int64_t d) {
  double diff2 = 0, ref2 = 0, worst = 0;
  size_t nan = 0;
  for (size_t b = 0; b < c.inputs.size(); ++b) {
    const ReferenceOutput ref = reference_attention(c.inputs[b]);
    for (int64_t i = 0; i < q_heads * d; ++i) {
      const float o = out[b * static_cast<size_t>(q_heads * d) + static_cast<size_t>(i)];
      if (!std::isfinite(o)) { ++nan; continue; }
      const double e = o - ref.output[static_cast<size_t>(i)];
      diff2 += e * e;
      ref2 += ref.output[static_cast<size_t>(i)] * ref.output[static_cast<size_t>(i)];
      worst = std::max(worst, std::fabs(e));
    }
  }
  INFO("relative L2 " << std::sqrt(diff2 / ref2) << ", max abs " << worst);
  CHECK(nan == 0);  // the output was poisoned with NaN: every element must have been written
  // fp32 sums over up to 32769 keys: rounding grows about like √N · 6e-8.
  CHECK(std::sqrt(diff2 / ref2) < 2e-5);
  CHECK(worst < 2e-5);
}

TEST_CASE("paged decode twin equals the reference: lengths 1, 7, 1000, 32769; groups 1, 4, 8, 32; pages 16..256") {
  ThreadPool pool(2);
  struct Shape { std::vector<int64_t> lengths; int64_t kv_heads, group, d, page; };
  const std::vector<Shape> shapes = {
      {{1, 1}, 2, 1, 16, 16},        {{7, 3, 1}, 2, 4, 24, 16},      {{1000, 999}, 1, 8, 32, 64},
      {{1000, 17}, 1, 32, 16, 256},  {{7, 1000}, 4, 4, 8, 32},       {{32769}, 1, 4, 16, 128},
      {{33, 64, 65}, 2, 8, 16, 16},
  };
  for (const Shape& s : shapes) {
    const uint64_t seed = fresh_seed();
    const int64_t q_heads = s.kv_heads * s.group;
    CAPTURE(s.lengths.size());
    CAPTURE(s.lengths.front());
    CAPTURE(s.group);
    CAPTURE(s.page);
    INFO("seed " << seed);
    PagedCase c = make_case(s.lengths, q_heads, s.kv_heads, s.d, s.page, seed);
    for (int splits : {0, 1, 3}) {
      CAPTURE(splits);
      std::vector<float> out(c.q.size(), std::numeric_limits<float>::quiet_NaN());
      const std::string error = decode_paged_cpu(c.store, c.q.data(), q_heads, 1.0 / std::sqrt(double(s.d)),
                                                 out.data(), pool, splits);
      REQUIRE_MESSAGE(error.empty(), error);
      check_against_reference(c, out, q_heads, s.d);
    }
  }
}

TEST_CASE("paged decode twin errors: heads not divisible, an empty sequence") {
  ThreadPool pool(1);
  PagedCase c = make_case({5}, 4, 2, 8, 16, fresh_seed());
  std::vector<float> out(64);
  CHECK(decode_paged_cpu(c.store, c.q.data(), 3, 0.3, out.data(), pool).find("not a multiple of KV heads") !=
        std::string::npos);
  PagedKvStore empty(2, 1, 8, 16, 4);
  std::vector<float> kv(8, 1.0f);
  REQUIRE(empty.append_token(0, kv.data(), kv.data(), nullptr));
  CHECK(decode_paged_cpu(empty, kv.data(), 1, 0.3, out.data(), pool).find("length 0") != std::string::npos);
}

TEST_CASE("split plan: every tile in exactly one split, more splits when few CTAs, wave efficiency") {
  for (int64_t base : {1, 8, 64, 256, 1000}) {
    for (int64_t len : {1, 63, 64, 1000, 32768, 32769}) {
      const int64_t slots = 264, tiles = (len + 63) / 64;
      const DecodeSplitPlan plan = plan_decode_splits(base, len, 64, slots);
      CAPTURE(base);
      CAPTURE(len);
      CHECK(plan.splits >= 1);
      CHECK(plan.splits * plan.tiles_per_split >= tiles);           // covered
      CHECK((plan.splits - 1) * plan.tiles_per_split < tiles);      // no empty split
      CHECK(plan.tiles_per_split >= std::min<int64_t>(tiles, 4));   // at least 4 tiles when there are that many
    }
  }
  // MQA at batch 8 on 132 SMs x 2: 8 CTAs per split, so it splits until the waves fill.
  const DecodeSplitPlan mqa = plan_decode_splits(8, 32768, 64, 264);
  CHECK(mqa.splits >= 20);
  CHECK(mqa.wave_efficiency >= 0.95 * 0.97);
  // MHA at batch 8: 256 CTAs nearly fill one wave already.
  CHECK(plan_decode_splits(256, 32768, 64, 264).splits == 1);
}

TEST_CASE("footprint equals the cost model's KV-cache lines for every preset") {
  for (const ModelPreset& m : model_presets()) {
    CAPTURE(m.name);
    ModelCostRequest req;
    req.model = m;
    req.tokens = 4096;
    req.batch = 1;
    req.dtype = DType::F16;
    const ModelCost cost = model_cost(req);
    const KvFootprint f = kv_footprint(m.layers, m.kv_heads, m.head_dim, DType::F16, 4096, 0, 80e9);
    CHECK(f.bytes_per_token == doctest::Approx(cost.value("kv_cache_bytes_per_token")));
    CHECK(f.bytes_per_sequence == doctest::Approx(cost.value("kv_cache_bytes_model")));
    CHECK(f.sequences_fit == static_cast<int64_t>(std::floor(80e9 / f.bytes_per_sequence)));
  }
  // Paged: ⌈N/P⌉·P tokens are reserved.
  const KvFootprint p = kv_footprint(2, 8, 128, DType::BF16, 1000, 256, 1e9);
  CHECK(p.bytes_per_token_layer == 2 * 8 * 128 * 2);
  CHECK(p.bytes_per_sequence_paged == doctest::Approx(p.bytes_per_token * 1024));
  CHECK(p.sequences_fit == static_cast<int64_t>(1e9 / (p.bytes_per_token * 1024)));
}

TEST_CASE("CPU decode loop: the cache grows page by page, the contiguous one is reserved up front") {
  DecodeLoopRequest r;
  r.batch = 2;
  r.q_heads = 8;
  r.kv_heads = 2;
  r.head_dim = 16;
  r.context = 100;
  r.prefill = 10;
  r.measure_every = 16;
  r.page_tokens = 16;
  r.seed = fresh_seed();
  const DecodeLoopResult paged = run_cpu_decode_loop(r, 2);
  REQUIRE_MESSAGE(paged.ok, paged.error);
  REQUIRE(!paged.samples.empty());
  CHECK(paged.samples.back().context == 100);
  int64_t previous = 0;
  for (const auto& s : paged.samples) {
    CHECK(s.context > previous);
    previous = s.context;
    const bool on_schedule = (s.context - r.prefill) % r.measure_every == 0 || s.context == r.context;
    CHECK(on_schedule);
    CHECK(s.pages_in_use == 2 * pages_for(s.context, 16));
    CHECK(s.cache_bytes == static_cast<uint64_t>(s.pages_in_use * 16 * 2 * 16 * 2 * 4));
    CHECK(s.kv_bytes_read == 2.0 * 2 * 2 * s.context * 16 * 4);
    CHECK(s.decode_ms > 0);
  }
  r.page_tokens = 0;
  const DecodeLoopResult contiguous = run_cpu_decode_loop(r, 2);
  REQUIRE_MESSAGE(contiguous.ok, contiguous.error);
  for (const auto& s : contiguous.samples) CHECK(s.cache_bytes == contiguous.pool_bytes);
  CHECK(contiguous.pool_bytes == static_cast<uint64_t>(2 * 2 * 2 * 100 * 16 * 4));
}

TEST_CASE("decode loop requests: bad input is named") {
  DecodeLoopRequest r;
  r.context = 0;
  CHECK(validate(r).front().find("cache length 0") != std::string::npos);
  r = {};
  r.q_heads = 30;
  r.kv_heads = 8;
  CHECK(validate(r).front().find("not a multiple") != std::string::npos);
  r = {};
  r.page_tokens = 24;
  CHECK(validate(r).front().find("power of two") != std::string::npos);
  r = {};
  r.prefill = r.context + 1;
  CHECK(!validate(r).empty());
  r = {};
  r.context = 0;
  const DecodeLoopResult result = run_cpu_decode_loop(r, 1);
  CHECK_FALSE(result.ok);
  CHECK(result.error.find("cache length 0") != std::string::npos);
}

}  // namespace
}  // namespace attnscope

namespace attnscope {
TEST_CASE("decode loop errors use the UI's words") {
  DecodeLoopRequest r;
  r.q_heads = 6;
  r.kv_heads = 4;
  r.head_dim = 0;
  const std::vector<std::string> e = validate(r);
  REQUIRE(e.size() >= 2);
  bool multiple = false;
  for (const std::string& m : e) {
    INFO(m);
    for (const char* name : {"q_heads", "kv_heads", "head_dim"}) CHECK(m.find(name) == std::string::npos);
    multiple |= m.find("query heads 6 is not a multiple of KV heads 4") != std::string::npos;
  }
  CHECK(multiple);
}
}  // namespace attnscope
