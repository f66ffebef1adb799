// test_decode.cpp — the flash-decoding kernels against the double-precision reference (core/reference.hpp with
// q_len = 1) on fresh random inputs: cache lengths 1, 7, 1000, 32769; group sizes 1, 4, 8, 32 (and 48, 96: padded
// m-tiles, several head blocks); batch > 1 with different lengths per sequence; contiguous and paged caches (page
// sizes 16..256, shuffled page pools); fp16 and bf16; planned and forced split counts. The device output is
// poisoned with NaN and the cache's unused rows (capacity past a sequence's end, the tail of its last page, unused
// pages) hold NaN, so an unwritten output or an out-of-range read shows up as NaN.
// Tolerances (kernel_test_util.hpp): fp16 relative L2 6e-3, max abs 3e-2; bf16 relative L2 3e-2, max abs 0.15 —
// Q, K, V, P and O are rounded to the storage type (11 and 8 mantissa bits); accumulation is fp32.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>

#include "core/kv_cache.hpp"
#include "kernel_test_util.hpp"
#include "kernels/decode/decode.hpp"

namespace attnscope::test {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct DecodeCase {
  std::vector<int64_t> lengths;
  int64_t kv_heads, group, head_dim, page_tokens;  // page_tokens 0: contiguous
  DType dtype;
};

struct Built {
  kernels::DecodeHostProblem problem;
  std::vector<AttentionInputs> inputs;  // per sequence, q_len 1
};

Built build(const DecodeCase& c, uint64_t seed) {
  Built out;
  kernels::DecodeHostProblem& p = out.problem;
  const int64_t B = static_cast<int64_t>(c.lengths.size()), Hkv = c.kv_heads, d = c.head_dim;
  const int64_t Hq = Hkv * c.group;
  p.dtype = c.dtype;
  p.batch = B;
  p.q_heads = Hq;
  p.kv_heads = Hkv;
  p.head_dim = d;
  int64_t max_len = 0, pages = 0;
  for (int64_t n : c.lengths) {
    max_len = std::max(max_len, n);
    p.seq_lens.push_back(static_cast<int32_t>(n));
    if (c.page_tokens) pages += pages_for(n, c.page_tokens);
  }
  for (int64_t b = 0; b < B; ++b) {
    AttentionSpec spec;
    spec.batch = 1;
    spec.q_heads = Hq;
    spec.kv_heads = Hkv;
    spec.q_len = 1;
    spec.kv_len = c.lengths[static_cast<size_t>(b)];
    spec.head_dim = d;
    spec.dtype = c.dtype;
    out.inputs.push_back(generate_inputs(spec, Generator::Gaussian, seed + 7919 * static_cast<uint64_t>(b)));
    p.q.insert(p.q.end(), out.inputs.back().q.begin(), out.inputs.back().q.end());
  }
  if (c.page_tokens == 0) {
    p.capacity = max_len + 5;  // rows past every sequence's end stay NaN
    p.k.assign(static_cast<size_t>(B * Hkv * p.capacity * d), kNaN);
    p.v = p.k;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hkv; ++h)
        for (int64_t t = 0; t < c.lengths[static_cast<size_t>(b)]; ++t) {
          const size_t at = static_cast<size_t>(((b * Hkv + h) * p.capacity + t) * d);
          std::copy_n(out.inputs[static_cast<size_t>(b)].k_row(0, h, t), d, p.k.begin() + static_cast<std::ptrdiff_t>(at));
          std::copy_n(out.inputs[static_cast<size_t>(b)].v_row(0, h, t), d, p.v.begin() + static_cast<std::ptrdiff_t>(at));
        }
  } else {
    // The core model hands out pages (shuffled pool, two spare pages); tokens are appended across the batch in
    // turn, as a server does, so sequences' pages interleave.
    PagedKvCache table(B, c.page_tokens, pages + 2, seed | 1);
    for (int64_t t = 0; t < max_len; ++t)
      for (int64_t b = 0; b < B; ++b)
        if (t < c.lengths[static_cast<size_t>(b)]) REQUIRE(table.append(b, 1).ok);
    p.page_tokens = c.page_tokens;
    p.pool_pages = table.pool_pages();
    p.max_pages = pages_for(max_len, c.page_tokens) + 1;
    p.block_table = table.block_table_matrix(p.max_pages);
    p.k.assign(static_cast<size_t>(p.pool_pages * Hkv * c.page_tokens * d), kNaN);
    p.v = p.k;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hkv; ++h)
        for (int64_t t = 0; t < c.lengths[static_cast<size_t>(b)]; ++t) {
          const size_t at = static_cast<size_t>(((table.page_of(b, t) * Hkv + h) * c.page_tokens + table.row_of(t)) * d);
          std::copy_n(out.inputs[static_cast<size_t>(b)].k_row(0, h, t), d, p.k.begin() + static_cast<std::ptrdiff_t>(at));
          std::copy_n(out.inputs[static_cast<size_t>(b)].v_row(0, h, t), d, p.v.begin() + static_cast<std::ptrdiff_t>(at));
        }
  }
  return out;
}

// `earlier`: launches made first on the same workspace (forced split counts, 0 = planned), see DecodeHostProblem.
void check_case(const DecodeCase& c, std::initializer_list<int> split_choices,
                kernels::DecodeVariant variant = kernels::DecodeVariant::Auto, std::vector<int> earlier = {},
                int probe = 0, const std::function<void(kernels::DecodeHostProblem&)>& relayout = {}) {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed << ", lengths[0] " << c.lengths.front() << ", batch " << c.lengths.size() << ", kv_heads "
                << c.kv_heads << ", group " << c.group << ", d " << c.head_dim << ", page " << c.page_tokens << ", "
                << dtype_name(c.dtype));
  Built built = build(c, seed);
  if (relayout) relayout(built.problem);
  std::vector<double> ref;
  for (const AttentionInputs& in : built.inputs) {
    const Reference r = reference_threaded(in);
    ref.insert(ref.end(), r.output.begin(), r.output.end());
  }
  for (int splits : split_choices) {
    CAPTURE(splits);
    built.problem.options.force_splits = splits;
    built.problem.options.variant = variant;
    built.problem.options.probe = probe;
    built.problem.earlier_launch_splits = earlier;
    const kernels::DecodeHostResult r = kernels::run_decode_host(built.problem);
    REQUIRE_MESSAGE(r.ok, r.error);
    INFO("splits used " << r.plan.splits << ", m-tiles " << r.plan.m_tiles << ", head blocks " << r.plan.head_blocks
                         << ", variant " << kernels::decode_variant_name(r.plan.variant) << ", warps " << r.plan.warps
                         << ", stages " << r.plan.stages);
    if (variant != kernels::DecodeVariant::Auto) CHECK(r.plan.variant == variant);
    if (r.plan.variant == kernels::DecodeVariant::BalancedTma) {  // the copy engine wherever the deep ring runs on sm_90+
      std::string why;
      const auto devices = kernels::list_cuda_devices(&why);
      REQUIRE(!devices.empty());
      // ... where the cache nests as the dense layout does (explicit strides may not)
      const kernels::DecodeHostProblem& p = built.problem;
      const int64_t rows = p.page_tokens > 0 ? p.page_tokens : p.capacity;
      const bool nesting = p.stride_row == 0 ||
                           (p.stride_head >= rows * p.stride_row && p.stride_sequence == p.kv_heads * p.stride_head);
      CHECK(r.plan.tensor_copies == (r.plan.m_tiles >= 2 && devices.front().cc_major >= 9 && nesting));
    } else {
      CHECK_FALSE(r.plan.tensor_copies);
    }
    {  // every variant merges in the grid exactly when it fits one wave
      const int64_t ctas = int64_t{r.plan.splits} * c.kv_heads * r.plan.head_blocks * static_cast<int64_t>(c.lengths.size());
      CHECK(r.plan.grid_merge == (r.plan.splits > 1 && ctas <= int64_t{r.plan.sm_count} * r.plan.ctas_per_sm));
    }
    const Comparison cmp = compare(r.output, ref);
    const Tolerance tol = tolerance_for(c.dtype);
    INFO("relative L2 " << cmp.relative << ", max abs " << cmp.max_abs);
    CHECK(cmp.size == ref.size());
    CHECK(cmp.nan_count == 0);
    CHECK(cmp.relative <= tol.relative);
    CHECK(cmp.max_abs <= tol.absolute);
    if (splits > 0) {  // forced: as many splits as asked, unless the cache has fewer 64-token tiles
      int64_t longest = 0;
      for (int64_t n : c.lengths) longest = std::max(longest, n);
      const int64_t tiles = (longest + 63) / 64, per = (tiles + splits - 1) / splits;
      CHECK(r.plan.splits == (tiles + per - 1) / per);
    }
  }
}

TEST_CASE("decode kernel: small shapes, contiguous and paged (also run under compute-sanitizer)") {
  const std::vector<DecodeCase> cases = {
      {{1, 1, 1}, 4, 1, 128, 0, DType::F16},   {{1, 7}, 2, 4, 64, 16, DType::BF16},
      {{7, 7, 7, 7}, 1, 32, 128, 32, DType::F16}, {{100, 65}, 2, 8, 64, 0, DType::BF16},
      {{130, 3}, 1, 8, 128, 64, DType::F16},   {{200}, 1, 48, 64, 16, DType::F16},
  };
  for (const DecodeCase& c : cases) check_case(c, {0, 3});
}

TEST_CASE("decode kernel matches the reference: lengths 1, 7, 1000, 32769, groups 1, 4, 8, 32, paged and contiguous") {
  const std::vector<DecodeCase> cases = {
      {{1000, 999, 1}, 2, 8, 128, 0, DType::BF16},  {{1000, 513}, 8, 4, 64, 64, DType::F16},
      {{1000}, 1, 32, 128, 256, DType::BF16},      {{1000, 7}, 4, 1, 128, 16, DType::F16},
      {{32769, 100}, 1, 8, 128, 16, DType::F16},   {{32769}, 2, 4, 128, 0, DType::F16},
      {{32769}, 1, 32, 64, 128, DType::BF16},      {{32769, 32768}, 1, 1, 128, 256, DType::BF16},
      {{777}, 1, 96, 128, 0, DType::F16},          {{300, 1025}, 2, 4, 64, 32, DType::BF16},
  };
  // Under compute-sanitizer (gpu-check.sh sets ATTNSCOPE_KERNEL_TEST_MAX_N) only the short caches run.
  const char* max_n_env = std::getenv("ATTNSCOPE_KERNEL_TEST_MAX_N");
  const int64_t max_n = max_n_env ? std::atoll(max_n_env) : 0;
  for (const DecodeCase& c : cases) {
    if (max_n > 0 && *std::max_element(c.lengths.begin(), c.lengths.end()) > max_n) {
      MESSAGE("skipped a cache of " << *std::max_element(c.lengths.begin(), c.lengths.end())
                                    << " tokens: ATTNSCOPE_KERNEL_TEST_MAX_N=" << max_n);
      continue;
    }
    check_case(c, {0, 1, 5});
  }
}

// Every variant, whichever is the default: large groups (32, 48, 96 query heads per KV head: the variants differ
// there), small ones (the same kernel in every variant), unequal lengths, paged and contiguous, planned and forced
// splits. (The retired variants and their tests are at the git tag decode-variant-lab.)
TEST_CASE("decode kernel variants: each matches the reference (small and medium caches)") {
  const std::vector<DecodeCase> cases = {
      {{7, 200, 1}, 1, 32, 128, 0, DType::F16},  {{130, 3}, 1, 48, 64, 16, DType::BF16},
      {{1025, 17}, 1, 32, 128, 32, DType::F16},  {{777}, 1, 96, 128, 0, DType::BF16},
      {{100, 65}, 2, 8, 64, 0, DType::F16},      {{1000, 1}, 2, 16, 128, 64, DType::F16},
  };
  const char* max_n_env = std::getenv("ATTNSCOPE_KERNEL_TEST_MAX_N");
  const int64_t max_n = max_n_env ? std::atoll(max_n_env) : 0;
  for (kernels::DecodeVariant v : {kernels::DecodeVariant::Balanced, kernels::DecodeVariant::BalancedTma}) {
    CAPTURE(kernels::decode_variant_name(v));
    for (const DecodeCase& c : cases) {
      if (max_n > 0 && *std::max_element(c.lengths.begin(), c.lengths.end()) > max_n) continue;
      check_case(c, {0, 3}, v);
    }
  }
}

// The in-grid merge keeps arrive/depart counters in the workspace, and the tail pool its counter: each launch must
// leave them at zero for the next, whatever its split count (the decode loop re-plans as the cache grows), and a grid
// too large for one wave falls back to the reduction kernel (which resets the pool counter).
TEST_CASE("decode balanced: counters survive repeated launches with changing splits; too large a grid falls back") {
  const std::vector<DecodeCase> cases = {
      {{1000, 999, 64, 1}, 1, 32, 128, 0, DType::F16},
      {{4097, 17}, 1, 48, 64, 16, DType::BF16},
      {{1000, 1000}, 2, 8, 128, 0, DType::F16},
      {{300}, 1, 96, 128, 32, DType::F16},
  };
  const char* max_n_env = std::getenv("ATTNSCOPE_KERNEL_TEST_MAX_N");
  const int64_t max_n = max_n_env ? std::atoll(max_n_env) : 0;
  for (const DecodeCase& c : cases) {
    if (max_n > 0 && *std::max_element(c.lengths.begin(), c.lengths.end()) > max_n) continue;
    check_case(c, {0, 2, 5}, kernels::DecodeVariant::Balanced, {5, 0, 3, 2, 0});
    check_case(c, {0, 2, 5}, kernels::DecodeVariant::BalancedTma, {5, 0, 3, 2, 0});
  }
  // 8 sequences x 2 KV heads x 33 splits = 528 CTAs: more than one wave on any GPU of up to 132 SMs x 2 CTAs.
  if (max_n == 0 || max_n >= 4097) {
    const DecodeCase big{{4097, 4097, 4097, 4097, 4097, 4097, 4097, 4096}, 2, 32, 128, 0, DType::F16};
    check_case(big, {40}, kernels::DecodeVariant::Balanced, {0, 40});
    check_case(big, {40}, kernels::DecodeVariant::BalancedTma, {0, 40});
  }
}

// balanced-tma's copies: a tile is one box per column half (contiguous) or one per page (pages of 16 and 32 tokens
// split a 64-token tile; pages of 128 and 256 hold several tiles), the sequence's last tile is partial (its V rows
// past the end are zeroed in shared memory: the cache's unused rows hold NaN), and segments past the end are not
// read. Every page size, both head dims and storage types, lengths 1, 17, 1000, 4097.
TEST_CASE("decode balanced-tma: every page size, partial last tiles and pages, lengths 1, 17, 1000, 4097") {
  const std::vector<DecodeCase> cases = {
      {{1, 17, 1000}, 1, 32, 128, 0, DType::F16},  {{4097, 17}, 1, 32, 64, 16, DType::BF16},
      {{1000, 1}, 1, 48, 128, 32, DType::F16},     {{17, 4097}, 1, 32, 128, 64, DType::BF16},
      {{1000, 999}, 1, 64, 64, 128, DType::F16},   {{4097}, 2, 32, 128, 256, DType::F16},
  };
  const char* max_n_env = std::getenv("ATTNSCOPE_KERNEL_TEST_MAX_N");
  const int64_t max_n = max_n_env ? std::atoll(max_n_env) : 0;
  for (const DecodeCase& c : cases) {
    if (max_n > 0 && *std::max_element(c.lengths.begin(), c.lengths.end()) > max_n) continue;
    check_case(c, {0, 1, 3}, kernels::DecodeVariant::BalancedTma);
  }
}

// The instrumented kernel (probes that keep the output valid: rotate, interleave) computes the same function; its
// probes are explicit plan options, never environment variables.
TEST_CASE("decode instrumented kernel: rotate and interleave probes match the reference") {
  const std::vector<DecodeCase> cases = {
      {{1000, 17}, 1, 32, 128, 0, DType::F16},  {{777}, 2, 4, 64, 16, DType::BF16},
  };
  for (const DecodeCase& c : cases) {
    check_case(c, {0, 3}, kernels::DecodeVariant::Auto, {}, kDecodeProbeRotate);
    check_case(c, {0, 3}, kernels::DecodeVariant::Balanced, {}, kDecodeProbeRotate | kDecodeProbeInterleave);
  }
}

// Explicit strides: the same cache in other layouts. Token-major ([sequence or page][token][KV head][d]: heads
// inner) runs with cp.async (its planes do not nest as tensor copies need); padded rows keep the dense nesting, so
// balanced-tma's tensor copies read them on sm_90.
namespace {
enum class Order { TokenMajor, PaddedRows };
std::function<void(kernels::DecodeHostProblem&)> relayout(Order order) {
  return [order](kernels::DecodeHostProblem& p) {
    const int64_t d = p.head_dim, H = p.kv_heads;
    const bool paged = p.page_tokens > 0;
    const int64_t planes = paged ? p.pool_pages : p.batch, rows = paged ? p.page_tokens : p.capacity;
    const int64_t row = order == Order::TokenMajor ? H * d : d + 8;
    const int64_t head = order == Order::TokenMajor ? d : rows * row;
    const int64_t sequence = order == Order::TokenMajor ? rows * H * d : H * head;
    std::vector<float> k(static_cast<size_t>(planes * sequence), kNaN), v = k;
    for (int64_t s = 0; s < planes; ++s)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t t = 0; t < rows; ++t)
          for (int64_t c = 0; c < d; ++c) {
            const size_t from = static_cast<size_t>(((s * H + h) * rows + t) * d + c);
            const size_t to = static_cast<size_t>(s * sequence + h * head + t * row + c);
            k[to] = p.k[from];
            v[to] = p.v[from];
          }
    p.k = std::move(k);
    p.v = std::move(v);
    p.stride_sequence = sequence;
    p.stride_head = head;
    p.stride_row = row;
  };
}
}  // namespace

TEST_CASE("decode with explicit strides: token-major and padded-row caches, contiguous and paged") {
  const std::vector<DecodeCase> cases = {
      {{1000, 17}, 2, 4, 128, 0, DType::F16},   {{300, 1}, 1, 32, 64, 16, DType::BF16},
      {{777}, 1, 48, 128, 0, DType::F16},       {{129, 64}, 2, 16, 64, 64, DType::F16},
  };
  for (const DecodeCase& c : cases)
    for (Order order : {Order::TokenMajor, Order::PaddedRows}) {
      CAPTURE(static_cast<int>(order));
      check_case(c, {0, 3}, kernels::DecodeVariant::Auto, {}, 0, relayout(order));
      check_case(c, {0}, kernels::DecodeVariant::Balanced, {}, 0, relayout(order));
    }
}

TEST_CASE("decode parameters: bad input is answered with the problem, nothing is launched") {
  auto expect_error = [](kernels::DecodeHostProblem p, const std::string& what) {
    const auto r = kernels::run_decode_host(p);
    CHECK_FALSE(r.ok);
    INFO("error: " << r.error);
    CHECK(r.error.find(what) != std::string::npos);
  };
  const DecodeCase good{{5, 40}, 2, 4, 64, 16, DType::F16};  // 40 tokens: 3 pages of 16
  Built b = build(good, fresh_seed());
  REQUIRE(kernels::run_decode_host(b.problem).ok);

  auto p = b.problem;
  p.seq_lens = {0, 9};
  expect_error(p, "cache length 0");
  p = b.problem;
  p.q_heads = 7;
  expect_error(p, "not a multiple of KV heads");
  p = b.problem;
  p.page_tokens = 24;
  expect_error(p, "power of two");
  p = b.problem;
  p.page_tokens = 512;
  expect_error(p, "power of two");
  p = b.problem;
  p.head_dim = 96;
  expect_error(p, "head dim 96");
  p = b.problem;
  p.dtype = DType::F32;
  expect_error(p, "fp16 or bf16");
  p = b.problem;
  p.max_pages = 1;  // a block table too small for the longest sequence
  p.block_table.resize(static_cast<size_t>(p.batch));
  expect_error(p, "cannot hold");
  CHECK_FALSE(page_size_problem(0).empty());

  // A cache larger than device memory: an out-of-memory answer, no allocation, no crash.
  DecodeLoopRequest huge;
  huge.batch = 4096;
  huge.q_heads = 64;
  huge.kv_heads = 64;
  huge.head_dim = 128;
  huge.context = int64_t{1} << 20;
  huge.prefill = huge.context - 1;
  const DecodeLoopResult r = cuda().decode_loop(huge);
  CHECK_FALSE(r.ok);
  CHECK(r.out_of_memory);
  CHECK(r.error.find("is free on") != std::string::npos);
  DecodeLoopRequest zero;
  zero.context = 0;
  CHECK(cuda().decode_loop(zero).error.find("cache length 0") != std::string::npos);
}

TEST_CASE("Backend::run(decode) on the CUDA backend matches the reference; wrong masks and q_len are refused") {
  for (DType dtype : {DType::F16, DType::BF16}) {
    auto spec = make_spec(3, 16, 4, 1, 128, dtype, "causal");
    spec.kv_len = 1000;
    const uint64_t seed = fresh_seed();
    INFO("seed " << seed);
    auto in = generate_inputs(spec, Generator::Gaussian, seed);
    check_output(run(Algorithm::Decode, in), reference_threaded(in), dtype);
  }
  auto spec = make_spec(1, 4, 4, 1, 64, DType::F16, "window:8");
  spec.kv_len = 100;
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  RunResult r = run(Algorithm::Decode, in);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("dense or causal") != std::string::npos);
  spec = make_spec(1, 4, 4, 4, 64, DType::F16);
  in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  r = run(Algorithm::Decode, in);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("q_len must be 1") != std::string::npos);
}

TEST_CASE("decode loop on the GPU: the paged cache grows page by page; time per token is measured") {
  DecodeLoopRequest req;
  req.batch = 2;
  req.q_heads = 8;
  req.kv_heads = 2;
  req.head_dim = 64;
  req.context = 300;
  req.prefill = 100;
  req.measure_every = 50;
  req.repetitions = 3;
  req.page_tokens = 16;
  req.seed = fresh_seed();
  const DecodeLoopResult paged = cuda().decode_loop(req);
  REQUIRE_MESSAGE(paged.ok, paged.error);
  REQUIRE(paged.samples.size() == 4);
  CHECK(paged.copy_gbs > 0);
  for (const auto& s : paged.samples) {
    CHECK(s.pages_in_use == 2 * pages_for(s.context, 16));
    CHECK(s.cache_bytes == static_cast<uint64_t>(s.pages_in_use) * 16 * 2 * 64 * 2 * 2);
    CHECK(s.decode_ms > 0);
    CHECK(s.kv_bytes_read == doctest::Approx(2.0 * 2 * 2 * s.context * 64 * 2));
  }
  CHECK(paged.samples.back().context == 300);
  req.page_tokens = 0;
  const DecodeLoopResult contiguous = cuda().decode_loop(req);
  REQUIRE_MESSAGE(contiguous.ok, contiguous.error);
  for (const auto& s : contiguous.samples) CHECK(s.cache_bytes == contiguous.pool_bytes);
}

}  // namespace
}  // namespace attnscope::test
