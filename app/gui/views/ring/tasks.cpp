// tasks.cpp — the Context parallel mode's work on the worker: ring attention on simulated ranks for the plain and the
// zigzag schedule, each checked against the single-rank reference (core/ring_attention.hpp).
#include <algorithm>
#include <chrono>

#include "app/gui/views/ring/model.hpp"
#include "core/backend.hpp"

namespace attnscope::gui {

RingViewResult compute_ring_view(Backend& backend, const RingRequest& request,
                                 const std::function<void(double, const std::string&)>& progress,
                                 const std::function<bool()>& cancelled) {
  RingViewResult out;
  out.key = request.key();
  out.error = ring_request_problem(request);
  if (!out.error.empty()) return out;
  AttentionSpec& spec = out.spec;
  spec.q_heads = request.heads;
  spec.kv_heads = request.kv_heads;
  spec.q_len = spec.kv_len = request.n;
  spec.head_dim = request.head_dim;
  spec.mask.causal = request.causal;
  progress(0.0, "generating inputs");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, request.seed);
  if (cancelled()) { out.cancelled = true; return out; }
  progress(0.1, "single-rank reference");
  const auto t0 = std::chrono::steady_clock::now();
  const ReferenceOutput reference = reference_attention(in);
  out.reference_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  RingOptions options;
  options.link_gbs = request.link_gbs;
  const RingSchedule schedules[] = {RingSchedule::Plain, RingSchedule::Zigzag};
  for (int i = 0; i < 2; ++i) {
    if (cancelled()) { out.cancelled = true; return out; }
    progress(0.5 + 0.25 * i, std::string("ring attention, ") + ring_schedule_name(schedules[i]));
    RingScheduleResult& r = i == 0 ? out.plain : out.zigzag;
    r.run = backend.run_ring(in, request.ranks, schedules[i], options);
    if (!r.run.ok) {
      out.error = r.run.error;
      return out;
    }
    // Each (rank, step) compute time: the least of kRingViewRuns runs, so a first run's cold caches and the UI
    // thread's drawing on the same cores do not pass for the schedule's cost; the timeline is rebuilt from them.
    for (int again = 1; again < kRingViewRuns && !cancelled(); ++again) {
      const RingRun more = backend.run_ring(in, request.ranks, schedules[i], options);
      for (size_t k = 0; k < r.run.compute_ms.size() && more.ok; ++k)
        r.run.compute_ms[k] = std::min(r.run.compute_ms[k], more.compute_ms[k]);
    }
    r.run.timeline = ring_timeline(r.run.plan, spec, r.run.compute_ms, request.link_gbs);
    r.max_error = ring_max_abs_error(r.run.output, reference.output);
    r.run.output.clear();  // the view shows the error, not the output: keep the result small
    r.run.output.shrink_to_fit();
  }
  progress(1.0, "done");
  out.ok = true;
  return out;
}

}  // namespace attnscope::gui
