// test_ring_model.cpp — the Context parallel mode's model: request checks, the worker's computation (both schedules,
// error against the reference, timelines from the least of the runs), the replay clock moving shards one hop per step
// and the timeline cursor.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "app/gui/views/ring/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("ring model: request problems name the field") {
  RingRequest r;
  CHECK(ring_request_problem(r).empty());
  r.ranks = 0;
  CHECK(ring_request_problem(r).find("ranks 0") != std::string::npos);
  r.ranks = 4;
  r.n = 9000;  // the reference the error is measured against is O(N²) in double: the view stops at 8192
  CHECK(ring_request_problem(r).find("N 9000") != std::string::npos);
  r.ranks = 8;
  r.n = 5;
  CHECK(ring_request_problem(r).find("ranks 8 > N 5") != std::string::npos);
  r.n = 64;
  r.heads = 6;
  r.kv_heads = 4;
  CHECK(ring_request_problem(r).find("multiple of KV heads 4") != std::string::npos);
  r.kv_heads = 3;
  r.head_dim = 0;
  CHECK(ring_request_problem(r).find("head dim 0") != std::string::npos);
  // The key follows every field that changes the run.
  RingRequest a, b;
  b.causal = !a.causal;
  CHECK(a.key() != b.key());
  b = a;
  b.link_gbs = 100;
  CHECK(a.key() != b.key());
}

TEST_CASE("ring model: the worker runs plain and zigzag, each close to the reference, timelines consistent") {
  RingRequest r;
  r.ranks = 3;
  r.n = 97;
  r.heads = 4;
  r.kv_heads = 2;
  r.head_dim = 16;
  r.causal = true;
  double last_progress = -1;
  const auto backend = make_cpu_backend();
  const RingViewResult out = compute_ring_view(
      *backend, r, [&](double f, const std::string&) { CHECK(f >= last_progress); last_progress = f; }, [] { return false; });
  REQUIRE_MESSAGE(out.ok, out.error);
  CHECK(out.key == r.key());
  CHECK(last_progress == doctest::Approx(1.0));
  for (RingSchedule s : {RingSchedule::Plain, RingSchedule::Zigzag}) {
    const RingScheduleResult& res = out.of(s);
    CHECK(res.run.plan.schedule == s);
    CHECK(res.run.plan.ranks == 3);
    CHECK(res.max_error < 1e-4);
    CHECK(res.run.ran_on == "CPU twin, simulated ranks");  // the CPU backend keeps Backend::run_ring's default
    REQUIRE(res.run.timeline.ranks.size() == 3);
    for (const RingRankTimes& rt : res.run.timeline.ranks)
      CHECK(rt.compute_ms + rt.idle_ms() == doctest::Approx(res.run.timeline.makespan_ms));
    // The timeline is built from the kept (least) compute times.
    for (int rank = 0; rank < 3; ++rank)
      for (int step = 0; step < 3; ++step)
        CHECK(res.run.timeline.ranks[static_cast<size_t>(rank)].steps[static_cast<size_t>(step)].compute_ms ==
              res.run.compute_ms[static_cast<size_t>(step * 3 + rank)]);
  }
  CHECK(out.zigzag.run.plan.imbalance() < out.plain.run.plan.imbalance());

  const RingViewResult cancelled = compute_ring_view(*backend, r, [](double, const std::string&) {}, [] { return true; });
  CHECK(cancelled.cancelled);
  CHECK_FALSE(cancelled.ok);
  r.ranks = 200;
  const RingViewResult bad = compute_ring_view(*backend, r, [](double, const std::string&) {}, [] { return false; });
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("ranks 200") != std::string::npos);
}

TEST_CASE("ring model: shards sit at their rank in a step's first half, hop to the next rank in its second half") {
  const RingReplay replay{4};
  CHECK(replay.step_at(0.0) == 0);
  CHECK(replay.step_at(2.7) == 2);
  CHECK(replay.step_at(4.0) == 3);  // the end shows the last step
  CHECK(replay.hop_progress(0.3) == 0.0);
  CHECK(replay.hop_progress(0.75) == doctest::Approx(0.5));
  CHECK(replay.hop_progress(3.9) == 0.0);  // the last step forwards nothing
  // Shard of rank 3 at step 1: held by rank (3 + 1) mod 4 = 0; halfway through its hop at 1.75: between 0 and 1.
  CHECK(replay.shard_location(3, 1.2) == doctest::Approx(0.0));
  CHECK(replay.shard_location(3, 1.75) == doctest::Approx(0.5));
  CHECK(replay.shard_location(1, 0.0) == doctest::Approx(1.0));
  // Consistent with the schedule: at step s rank r holds the shard of rank (r − s) mod W.
  const RingPlan plan = plan_ring(4, 64, RingSchedule::Plain, false);
  for (int s = 0; s < 4; ++s)
    for (int r = 0; r < 4; ++r)
      CHECK(replay.shard_location(plan.shard_owner(r, s), s + 0.25) == doctest::Approx(static_cast<double>(r)));
}

TEST_CASE("ring model: the timeline cursor runs through each step's compute and wait") {
  const RingPlan plan = plan_ring(2, 64, RingSchedule::Plain, false);
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 64;
  const RingTimeline t = ring_timeline(plan, spec, {1.0, 1.0, 2.0, 2.0}, 1e6);
  CHECK(ring_timeline_time(t, 0, 0.0) == doctest::Approx(0.0));
  CHECK(ring_timeline_time(t, 0, 0.5) == doctest::Approx(0.5).epsilon(1e-3));
  CHECK(ring_timeline_time(t, 1, 1.5) == doctest::Approx(t.ranks[1].steps[1].start_ms + 1.0));
  CHECK(ring_timeline_time(t, 1, 2.0) == doctest::Approx(t.ranks[1].steps[1].end_ms));
  CHECK(ring_timeline_time(t, 5, 1.0) == 0.0);
}
