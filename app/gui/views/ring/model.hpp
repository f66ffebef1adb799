// model.hpp — the Context parallel mode's model: the shape the user chose (ranks, N, heads, causal, link), what the
// worker computes for it (ring attention on simulated ranks for plain and zigzag, each with its error against the
// single-rank reference; core/ring_attention.hpp) and the replay clock that moves the K/V shards round the ring.
// No ImGui or GL here: tests use it directly.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/backend.hpp"
#include "core/ring_attention.hpp"

namespace attnscope::gui {

struct RingRequest {
  int ranks = 4;
  int64_t n = 1024;
  int64_t heads = 4, kv_heads = 2, head_dim = 64;
  bool causal = true;
  double link_gbs = kRingDefaultLinkGBs;
  uint64_t seed = 1;
  std::string key() const;  // what a result was computed for
};

struct RingScheduleResult {
  RingRun run;
  double max_error = 0;  // max |merged output − single-rank reference|
};

struct RingViewResult {
  std::string key;
  bool ok = false;
  bool cancelled = false;
  std::string error;
  AttentionSpec spec;
  double reference_ms = 0;            // the single-rank reference (double precision, for the error only)
  RingScheduleResult plain, zigzag;
  const RingScheduleResult& of(RingSchedule s) const { return s == RingSchedule::Zigzag ? zigzag : plain; }
};

// Why the request cannot run ("" when it can): ranks 1..64 and at most N, heads a multiple of kv_heads, sizes in range.
std::string ring_request_problem(const RingRequest& request);

// The worker's computation: inputs, the reference, then ring attention with each schedule through
// backend.run_ring (the CPU twin on simulated ranks unless the backend has its own).
// progress(fraction, status) between steps; cancelled() polled between steps.
RingViewResult compute_ring_view(Backend& backend, const RingRequest& request,
                                 const std::function<void(double, const std::string&)>& progress,
                                 const std::function<bool()>& cancelled);

// Replay: the clock runs over steps; position p in [0, W] means step ⌊p⌋ is computing and fraction p − ⌊p⌋ of it
// is done. The shard that rank r holds at step s sits at rank r; during the second half of a step it travels one hop
// to r + 1, so hop_progress(p) is 0 in the first half of a step and rises linearly to 1 at its end (none after the
// last step, which forwards nothing).
struct RingReplay {
  int ranks = 1;
  int step_at(double position) const;               // the step computing at `position` (W−1 at the end)
  double hop_progress(double position) const;       // 0..1: how far the shards are on their way to the next rank
  // Where the shard of rank `owner` is at `position`, as a ring coordinate: rank index + hop fraction (mod W).
  double shard_location(int owner, double position) const;
};

// Modelled time (ms) on rank r's timeline at replay position p: the start of step ⌊p⌋ plus the fraction of its
// compute and wait — the cursor the timeline panel draws.
double ring_timeline_time(const RingTimeline& timeline, int rank, double position);

// Runs per schedule; each (rank, step) shows the least compute time of these.
inline constexpr int kRingViewRuns = 3;

inline constexpr TaskChannel<RingViewResult> kRingChannel{"ring", "Context parallel"};

enum class RingShown { Plain = 0, Zigzag = 1 };

struct RingViewState {
  RingRequest request;
  RingShown shown = RingShown::Zigzag;   // which schedule the matrix, ring and timeline show (the toggle)
  std::optional<RingViewResult> result;
  std::string asked_key;                 // submitted, not yet arrived
  std::string problem;                   // why the request cannot run
  double position = 0;                   // replay position in steps, 0..W
  bool playing = true;
  static constexpr double kStepSeconds = 1.2;  // one step of the replay at speed 1
};

}  // namespace attnscope::gui
