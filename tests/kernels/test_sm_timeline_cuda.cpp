// test_sm_timeline_cuda.cpp — the inside-one-SM timeline of flash-tc's warp-specialised kernel (issue 18) on the GPU
// machine: the instrumented launch leaves the output unchanged, logs every event of the chosen CTA in the order the
// kernel reaches them on the SM clock, one QKᵀ and softmax per step and one P·V per step on each consumer,
// two copies per step on the producer; the shares are fractions; elsewhere than compute capability 9.0 the request
// is refused in words.
#include <doctest/doctest.h>

#include <map>

#include "core/sm_timeline.hpp"
#include "core/visit_schedule.hpp"
#include "kernel_test_util.hpp"
#include "kernels/flash_tc/flash_tc.hpp"

namespace attnscope::test {

TEST_CASE("sm timeline (CUDA): the warp-specialised kernel logs one CTA's warpgroups, output unchanged") {
  const auto* info = kernels::cuda_device_of(cuda());
  REQUIRE(info != nullptr);
  const bool hopper = info->cc_major == 9 && info->cc_minor == 0;
  for (const char* mask : {"dense", "causal", "window:300"}) {
    for (int64_t d : {64, 128}) {
      const AttentionSpec spec = make_spec(1, 2, 1, std::min<int64_t>(1000, std::max<int64_t>(max_n(), 200)), d,
                                           DType::F16, mask);
      const uint64_t seed = fresh_seed();
      INFO(spec.summary() << " seed " << seed);
      const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
      RunRequest req;
      req.algorithm = Algorithm::FlashTensorCore;
      req.inputs = &in;
      req.warmup = 0;
      req.repetitions = 1;
      req.tensor_core_path = TensorCorePath::WarpSpecialized;
      const RunResult plain = cuda().run(req);
      req.record_sm_timeline = true;
      const RunResult timed = cuda().run(req);
      if (!hopper) {
        CHECK_FALSE(timed.ok);
        CHECK(timed.error.find("warp-specialised") != std::string::npos);
        continue;
      }
      REQUIRE_MESSAGE(plain.ok, plain.error);
      REQUIRE_MESSAGE(timed.ok, timed.error);
      REQUIRE(timed.sm_timeline.has_value());
      CHECK(plain.output == timed.output);  // the log changes no arithmetic
      const SmTimeline& t = *timed.sm_timeline;
      const VisitSchedule schedule = build_visit_schedule(spec, kernels::kFlashTcBr, kernels::kFlashTcBc);
      // The default CTA: the Q tile with the most visits.
      int32_t most = 0;
      for (int64_t q = 0; q < schedule.tr; ++q) most = std::max(most, schedule.offsets[q + 1] - schedule.offsets[q]);
      CHECK(schedule.offsets[t.q_tile + 1] - schedule.offsets[t.q_tile] == most);
      CHECK(t.steps == (most + 1) / 2);
      CHECK(t.sm >= 0);
      CHECK(t.ns_per_cycle > 0.1);  // an SM clock between 0.1 and 10 GHz
      CHECK(t.ns_per_cycle < 10);
      REQUIRE(t.lanes.size() == 3u);
      for (size_t lane = 0; lane < 3; ++lane) {
        CAPTURE(lane);
        std::map<SmEvent, int> count;
        std::map<std::pair<SmEvent, int32_t>, int64_t> at;
        for (const SmEventRecord& e : t.lanes[lane]) {
          ++count[e.event];
          at[{e.event, e.step}] = e.t_ns;
        }
        // One thread's program order on one SM clock: each step's events come in the order the kernel reaches them.
        auto ordered = [&](SmEvent a, SmEvent b, int32_t step_a, int32_t step_b) {
          const auto x = at.find({a, step_a}), y = at.find({b, step_b});
          if (x != at.end() && y != at.end()) CHECK(x->second <= y->second);
        };
        for (int32_t i = 0; i < t.steps; ++i) {
          CAPTURE(i);
          ordered(SmEvent::CopyKIssued, SmEvent::CopyVIssued, i, i);
          ordered(SmEvent::KWaitBegin, SmEvent::KWaitEnd, i, i);
          ordered(SmEvent::KWaitEnd, SmEvent::ScoresIssued, i, i);
          ordered(SmEvent::ScoresIssued, SmEvent::ScoresDone, i, i);
          ordered(SmEvent::ScoresDone, SmEvent::SoftmaxEnd, i, i);
          ordered(SmEvent::ValuesIssued, SmEvent::ValuesDone, i, i);
          ordered(SmEvent::SoftmaxEnd, SmEvent::ScoresIssued, i, i + 1);
        }
        if (lane == 0) {
          CHECK(count[SmEvent::CopyKIssued] == t.steps);
          CHECK(count[SmEvent::CopyVIssued] == t.steps);
        } else {
          CHECK(count[SmEvent::QWaitBegin] == 1);
          CHECK(count[SmEvent::ScoresIssued] == t.steps);
          CHECK(count[SmEvent::ScoresDone] == t.steps);
          CHECK(count[SmEvent::SoftmaxEnd] == t.steps);
          CHECK(count[SmEvent::ValuesIssued] == t.steps);
          CHECK(count[SmEvent::ValuesDone] == t.steps);
          CHECK(count[SmEvent::TurnWaitBegin] == t.steps + 1);
          CHECK(count[SmEvent::EpilogueEnd] == 1);
        }
      }
      const std::vector<SmSpan> spans = sm_timeline_spans(t);
      const std::vector<SmLaneShares> shares = sm_lane_shares(t, spans);
      for (size_t lane = 1; lane < 3; ++lane) {
        CHECK(shares[lane].tensor > 0);
        CHECK(shares[lane].softmax > 0);
        CHECK(shares[lane].tensor + shares[lane].softmax + shares[lane].waiting + shares[lane].epilogue <= 2.0);
      }
    }
  }
}

}  // namespace attnscope::test
