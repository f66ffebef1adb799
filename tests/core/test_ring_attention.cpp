// test_ring_attention.cpp — ring attention on simulated ranks: the split rule at odd N, pair counts against the
// mask, the imbalance of plain vs zigzag under causal (exact formulas and a derived bound), the merged output
// against the single-rank reference (W = 1, 2, 3, 4, 8; plain and zigzag; causal and not; GQA; odd N; poisoned
// output), and the timeline model on compute times chosen by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "core/ring_attention.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope;

namespace {

uint64_t g_seed = 0x21d6;  // advanced per case: fresh inputs every time

AttentionSpec ring_spec(int64_t n, int64_t heads, int64_t kv_heads, int64_t d, bool causal, int64_t batch = 1) {
  AttentionSpec s;
  s.batch = batch;
  s.q_heads = heads;
  s.kv_heads = kv_heads;
  s.q_len = s.kv_len = n;
  s.head_dim = d;
  s.mask.causal = causal;
  return s;
}

// Brute force: allowed pairs of q × k under the mask.
int64_t count_allowed(SeqRange q, SeqRange k, bool causal) {
  int64_t c = 0;
  for (int64_t i = q.begin; i < q.end; ++i)
    for (int64_t j = k.begin; j < k.end; ++j) c += (!causal || j <= i) ? 1 : 0;
  return c;
}

void check_against_reference(int ranks, RingSchedule schedule, const AttentionSpec& spec, ThreadPool& pool) {
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, ++g_seed);
  const ReferenceOutput ref = reference_attention(in);
  RingOptions opt;
  opt.br = 16;  // tiles smaller than the chunks, not dividing them
  opt.bc = 24;
  const RingRun run = run_ring_attention(in, ranks, schedule, opt, pool);
  INFO("W=", ranks, " ", std::string(ring_schedule_name(schedule)), " ", spec.summary());
  REQUIRE_MESSAGE(run.ok, run.error);
  REQUIRE(run.output.size() == ref.output.size());
  int64_t bad = 0;
  for (size_t i = 0; i < run.output.size(); ++i) {
    const double o = run.output[i], r = ref.output[i];
    if (!std::isfinite(o) || std::abs(o - r) > 2e-5 + 2e-4 * std::abs(r)) ++bad;
  }
  CHECK(bad == 0);
  CHECK(ring_max_abs_error(run.output, ref.output) < 1e-4);
  CHECK(run.fully_masked_rows == ref.fully_masked_rows);
  CHECK(run.compute_ms.size() == static_cast<size_t>(ranks * ranks));
  for (double ms : run.compute_ms) CHECK(ms >= 0.0);
}

}  // namespace

TEST_CASE("ring split: chunks tile the sequence, sizes differ by at most one, each token on one rank") {
  for (int64_t n : {1, 17, 1000, 4097})
    for (int ranks : {1, 2, 3, 4, 8, 64})
      for (RingSchedule schedule : {RingSchedule::Plain, RingSchedule::Zigzag}) {
        INFO("N=", n, " W=", ranks, " ", std::string(ring_schedule_name(schedule)));
        REQUIRE(validate_ring(ranks, n).empty());
        const RingPlan plan = plan_ring(ranks, n, schedule, true);
        const int chunks = schedule == RingSchedule::Zigzag ? 2 * ranks : ranks;
        REQUIRE(plan.chunk_count() == chunks);
        int64_t smallest = n, largest = 0, expect_begin = 0;
        for (const SeqRange& c : plan.chunks) {
          CHECK(c.begin == expect_begin);
          expect_begin = c.end;
          smallest = std::min(smallest, c.size());
          largest = std::max(largest, c.size());
        }
        CHECK(expect_begin == n);
        CHECK(largest - smallest <= 1);
        std::multiset<int> held;
        int64_t tokens = 0;
        for (int r = 0; r < ranks; ++r) {
          for (int c : plan.rank_chunks[static_cast<size_t>(r)]) held.insert(c);
          tokens += plan.tokens_of(r);
        }
        CHECK(tokens == n);
        CHECK(held.size() == static_cast<size_t>(chunks));
        CHECK(std::set<int>(held.begin(), held.end()).size() == static_cast<size_t>(chunks));
        // N < chunks: some ranks (plain) or chunks (zigzag) are empty, and the empty ones have no blocks.
        if (n < ranks) {
          int empty_ranks = 0;
          for (int r = 0; r < ranks; ++r) empty_ranks += plan.tokens_of(r) == 0 ? 1 : 0;
          CHECK(empty_ranks >= ranks - n);
        }
        for (const RingBlock& b : plan.blocks) CHECK((b.q.size() > 0 && b.k.size() > 0));
      }
}

TEST_CASE("ring schedule: every rank sees every shard once; pair counts sum to the mask's allowed pairs") {
  for (int64_t n : {1, 17, 1000, 4097})
    for (int ranks : {1, 2, 3, 4, 8})
      for (RingSchedule schedule : {RingSchedule::Plain, RingSchedule::Zigzag})
        for (bool causal : {false, true}) {
          INFO("N=", n, " W=", ranks, " ", std::string(ring_schedule_name(schedule)), " causal=", causal);
          const RingPlan plan = plan_ring(ranks, n, schedule, causal);
          for (int r = 0; r < ranks; ++r) {
            std::set<int> owners;
            for (int s = 0; s < ranks; ++s) owners.insert(plan.shard_owner(r, s));
            CHECK(owners.size() == static_cast<size_t>(ranks));
            CHECK(plan.shard_owner(r, 0) == r);
          }
          CHECK(plan.total_work() == (causal ? n * (n + 1) / 2 : n * n));
          for (const RingBlock& b : plan.blocks) {
            if (n <= 1000) CHECK(b.allowed_pairs == count_allowed(b.q, b.k, causal));
            if (b.kind == RingBlockKind::Skipped) CHECK(b.allowed_pairs == 0);
            if (b.kind == RingBlockKind::Full) CHECK(b.allowed_pairs == b.q.size() * b.k.size());
            if (b.kind == RingBlockKind::Partial)
              CHECK((b.allowed_pairs > 0 && b.allowed_pairs < b.q.size() * b.k.size()));
            CHECK(plan.shard_owner(b.rank, b.step) ==
                  (schedule == RingSchedule::Zigzag ? std::min(b.k_chunk, 2 * ranks - 1 - b.k_chunk) : b.k_chunk));
          }
          // Dense: a block of chunks of m or m+1 tokens has m² to (m+1)² pairs, so imbalance ≤ ((m+1)/m)².
          const int64_t m = n / plan.chunk_count();
          if (!causal && m >= 1) CHECK(plan.imbalance() <= (m + 1.0) * (m + 1.0) / (m * m) + 1e-12);
        }
}

TEST_CASE("ring imbalance under causal: plain = ((2W−1)c + 1)/(Wc + 1), zigzag = 1 at N = 4096") {
  const int64_t n = 4096;
  for (int ranks : {2, 4, 8}) {
    INFO("W=", ranks);
    const RingPlan plain = plan_ring(ranks, n, RingSchedule::Plain, true);
    const RingPlan zigzag = plan_ring(ranks, n, RingSchedule::Zigzag, true);
    const double c = static_cast<double>(n / ranks);
    CHECK(plain.imbalance() == doctest::Approx(((2.0 * ranks - 1) * c + 1) / (ranks * c + 1)).epsilon(1e-12));
    CHECK(zigzag.imbalance() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(zigzag.imbalance() <= plain.imbalance());
    CHECK(plain.imbalance() > 1.4);  // 2 − 1/W: a plain causal ring runs at half speed
    // Zigzag: every rank the same work at every step.
    for (int s = 0; s < ranks; ++s)
      for (int r = 1; r < ranks; ++r) CHECK(zigzag.work_at(r, s) == zigzag.work_at(0, s));
  }
}

TEST_CASE("ring imbalance at uneven N: zigzag within the derived bound, never above plain") {
  // Chunks hold m or m+1 tokens, m = ⌊N/2W⌋. A zigzag step's work is at most 2(m+1)² (steps ≥ 1: two full blocks)
  // or (m+1)(m+2) + (m+1)² (step 0: two diagonal halves and one full block); the mean per step is
  // N(N+1)/(2W²) ≥ 2m² + m/W. So imbalance ≤ [(m+1)(2m+3) + (W−1)·2(m+1)²] / [W·(2m² + m/W)].
  for (int64_t n : {1000, 4097, 4095})
    for (int ranks : {2, 3, 4, 8}) {
      INFO("N=", n, " W=", ranks);
      const RingPlan plain = plan_ring(ranks, n, RingSchedule::Plain, true);
      const RingPlan zigzag = plan_ring(ranks, n, RingSchedule::Zigzag, true);
      const double m = static_cast<double>(n / (2 * ranks));
      const double bound =
          ((m + 1) * (2 * m + 3) + (ranks - 1) * 2 * (m + 1) * (m + 1)) / (ranks * (2 * m * m + m / ranks));
      CHECK(zigzag.imbalance() <= bound);
      CHECK(zigzag.imbalance() < 1.05);
      CHECK(zigzag.imbalance() <= plain.imbalance());
    }
}

TEST_CASE("ring validation: ranks 1..64, N ≥ 1, dense or causal self-attention only") {
  CHECK(test::any_contains(validate_ring(0, 16), "ranks 0"));
  CHECK(test::any_contains(validate_ring(65, 16), "ranks 65"));
  CHECK(test::any_contains(validate_ring(4, 0), "sequence length 0"));
  CHECK(validate_ring(64, 1).empty());  // N < W: allowed, some ranks hold nothing
  AttentionSpec cross = ring_spec(64, 2, 2, 8, false);
  cross.q_len = 32;
  CHECK(ring_spec_problem(cross).find("q_len 32") != std::string::npos);
  AttentionSpec window = ring_spec(64, 2, 2, 8, false);
  window.mask = parse_mask("window:8").mask;
  CHECK(ring_spec_problem(window).find("dense or causal") != std::string::npos);
  CHECK(ring_spec_problem(ring_spec(64, 4, 2, 8, true)).empty());
  CHECK(parse_ring_schedule("zigzag") == RingSchedule::Zigzag);
  CHECK(parse_ring_schedule("plain") == RingSchedule::Plain);
  CHECK_FALSE(parse_ring_schedule("ring").has_value());
  ThreadPool pool(2);
  const AttentionInputs in = generate_inputs(window, Generator::Gaussian, 1);
  const RingRun run = run_ring_attention(in, 2, RingSchedule::Plain, {}, pool);
  CHECK_FALSE(run.ok);
  CHECK(run.error.find("dense or causal") != std::string::npos);
}

TEST_CASE("ring CPU twin equals the single-rank reference: W = 1..8, plain and zigzag, causal and not, GQA") {
  ThreadPool pool(2);
  for (int ranks : {1, 2, 3, 4, 8})
    for (RingSchedule schedule : {RingSchedule::Plain, RingSchedule::Zigzag})
      for (bool causal : {false, true}) check_against_reference(ranks, schedule, ring_spec(131, 4, 2, 16, causal), pool);
}

TEST_CASE("ring CPU twin at odd and tiny N: N = 1, 17, 1000; N < W leaves ranks empty; MQA, batch 2") {
  ThreadPool pool(2);
  check_against_reference(1, RingSchedule::Zigzag, ring_spec(1, 2, 1, 8, true), pool);
  check_against_reference(4, RingSchedule::Zigzag, ring_spec(1, 2, 1, 8, true), pool);
  check_against_reference(8, RingSchedule::Plain, ring_spec(5, 2, 2, 8, true), pool);   // 3 ranks hold nothing
  check_against_reference(4, RingSchedule::Zigzag, ring_spec(5, 2, 2, 8, false), pool);  // 3 empty chunks
  check_against_reference(3, RingSchedule::Zigzag, ring_spec(17, 3, 1, 8, true, 2), pool);
  check_against_reference(8, RingSchedule::Plain, ring_spec(17, 4, 4, 12, false), pool);
  check_against_reference(3, RingSchedule::Zigzag, ring_spec(1000, 2, 1, 32, true), pool);
  check_against_reference(4, RingSchedule::Plain, ring_spec(1000, 2, 2, 32, false), pool);
}

TEST_CASE("ring timeline: equal compute c, transfer t: hidden when t ≤ c, else (W−1)·t + c with overlap c/t") {
  const int ranks = 4;
  const RingPlan plan = plan_ring(ranks, 4096, RingSchedule::Plain, false);
  const AttentionSpec spec = ring_spec(4096, 8, 8, 64, false);
  const double shard_bytes = static_cast<double>(ring_shard_bytes(plan, spec, 0));
  CHECK(shard_bytes == 2.0 * 8 * 1024 * 64 * 4);
  const std::vector<double> compute(static_cast<size_t>(ranks * ranks), 1.0);  // 1 ms every step
  // Link chosen so a transfer takes 0.5 ms: fully hidden.
  const RingTimeline fast = ring_timeline(plan, spec, compute, shard_bytes / 0.5e-3 / 1e9);
  CHECK(fast.makespan_ms == doctest::Approx(4.0));
  CHECK(fast.overlap_share() == doctest::Approx(1.0));
  CHECK(fast.transfer_ms == doctest::Approx(ranks * (ranks - 1) * 0.5));
  // 2 ms per transfer: each step waits 1 ms, of which all is transfer.
  const RingTimeline slow = ring_timeline(plan, spec, compute, shard_bytes / 2e-3 / 1e9);
  CHECK(slow.makespan_ms == doctest::Approx((ranks - 1) * 2.0 + 1.0));
  CHECK(slow.overlap_share() == doctest::Approx(0.5));
  CHECK(slow.exposed_transfer_ms == doctest::Approx(ranks * (ranks - 1) * 1.0));
  for (const RingRankTimes& r : slow.ranks) {
    CHECK(r.compute_ms == doctest::Approx(4.0));
    CHECK(r.transfer_ms == doctest::Approx((ranks - 1) * 2.0));
    CHECK(r.compute_ms + r.idle_ms() == doctest::Approx(slow.makespan_ms));
  }
}

TEST_CASE("ring timeline: a slow rank delays its successor; every rank's compute + idle = makespan") {
  const int ranks = 3;
  const RingPlan plan = plan_ring(ranks, 300, RingSchedule::Plain, true);
  const AttentionSpec spec = ring_spec(300, 1, 1, 8, true);
  std::vector<double> compute(static_cast<size_t>(ranks * ranks), 1.0);
  compute[0 * ranks + 1] = 5.0;  // rank 1, step 0
  const RingTimeline t = ring_timeline(plan, spec, compute, 1e6);  // transfers take nanoseconds
  // Rank 1 starts step 1 when its own step 0 ends (5 ms); rank 0 is not held up at step 1 (1 ms); rank 1 forwards its
  // step-1 shard only from 5 ms, so rank 2 waits for it at step 2, and rank 1 ends last at 5 + 1 + 1.
  CHECK(t.ranks[1].steps[1].start_ms == doctest::Approx(5.0).epsilon(1e-6));
  CHECK(t.ranks[0].steps[1].start_ms == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(t.makespan_ms == doctest::Approx(7.0).epsilon(1e-6));
  CHECK(t.ranks[2].steps[1].wait_ms == doctest::Approx(3.0).epsilon(1e-6));
  CHECK(t.ranks[2].steps[1].exposed_transfer_ms < 1e-3);  // the wait is rank 1's compute, not the transfer
  for (const RingRankTimes& r : t.ranks) CHECK(r.compute_ms + r.idle_ms() == doctest::Approx(t.makespan_ms));
}
