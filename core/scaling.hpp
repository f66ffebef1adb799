// scaling.hpp — how attention's cost grows with the sequence length: a sweep over N (256, 512, … 65536) for several
// algorithms and masks on one Backend, each point's measured time and memory, and the power-law slope fitted to
// each series (time ∝ N^slope: about 2 for dense attention, about 1 for a fixed window).
//
// Points that cannot be measured are kept and marked, never dropped:
//   out of memory  the backend answered out_of_memory (bytes needed / free recorded)
//   over limits    the spec exceeds the backend's limits or the backend has no kernel for it (its sentence kept)
//   capped         not run: the time predicted from the series' last measured point exceeds the time cap
//                  (t_pred = t_last · FLOPs(N) / FLOPs(N_last), FLOPs from the cost model)
//   cancelled      the sweep was stopped before this point
// A capped point whose predicted allocation (the series' fitted memory slope from its last measured point) exceeds
// 1.5× the free memory is tried once anyway: the backend then answers out of memory at once, so that answer is
// shown instead of a guess.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace attnscope {

// log10 y = slope · log10 x + log10_coefficient, least squares.
struct PowerFit {
  bool ok = false;
  double slope = 0;
  double log10_coefficient = 0;
  double r2 = 0;      // of the log-log line
  int points = 0;
};
// Uses the pairs with finite x > 0 and y > 0; needs two distinct x values.
PowerFit fit_power_law(std::span<const double> xs, std::span<const double> ys);

struct SweepSeries {
  std::string label;            // "naive", "flash", "block-sparse window:128"
  Algorithm algorithm = Algorithm::Flash;
  std::string mask = "dense";   // parse_mask text
};

struct SweepConfig {
  std::vector<int64_t> lengths;     // ascending
  std::vector<SweepSeries> series;
  int64_t batch = 1, heads = 1, head_dim = 64;
  DType dtype = DType::F32;
  TileConfig tiles;
  int warmup = 1, repetitions = 3;  // repetitions: at least this many timed runs per point
  double min_timed_s = 0.25;        // small points repeat until about this much is timed (predicted; ≤ 50 runs)
  double time_cap_s = 0;            // per timed run; 0 = no cap
  uint64_t seed = 7;
  int fit_points = 4;               // the slope is fitted over this many largest measured N (fixed costs matter least)
};
// 256, 512, ..., 65536: the powers of two from first to last.
std::vector<int64_t> sweep_lengths(int64_t first, int64_t last);
// naive (dense), flash (dense) and block-sparse over `sparse_mask`, on N = 256 … 65536.
SweepConfig default_sweep_config(const std::string& sparse_mask = "window:128");

enum class PointStatus { Measured, OutOfMemory, OverLimits, Capped, Failed, Cancelled };
const char* point_status_name(PointStatus status);  // "measured", "out of memory", "over limits", "capped", ...

struct SweepPoint {
  int64_t n = 0;
  PointStatus status = PointStatus::Cancelled;
  std::string note;                // why it was not measured, in words
  Timing timing;                   // measured points
  double flops = 0, bytes_moved = 0;  // cost model (every point)
  uint64_t bytes_allocated = 0;    // measured: what the algorithm allocated beyond inputs and output
  uint64_t bytes_needed = 0, bytes_free = 0;  // out of memory
  uint64_t bytes_io = 0;           // Q, K, V and O in the dtype: 2·B·(H + Hkv)·N·d·e
  double predicted_ms = 0;         // one run extrapolated from the last measured point (0 before the first)
  uint64_t predicted_bytes = 0;    // capped: the extrapolated allocation
};

struct SweepSeriesResult {
  SweepSeries series;
  std::vector<SweepPoint> points;  // one per length, in order
  // Over the largest measured points. Time: each N's fastest run (the one least disturbed by other work on the
  // machine; the median is what the plots show). Memory: bytes_allocated.
  PowerFit time_fit, memory_fit;
};

struct SweepResult {
  std::string backend, device;
  SweepConfig config;
  std::vector<SweepSeriesResult> series;
  bool cancelled = false;
  double seconds = 0;
};

struct SweepCallbacks {
  std::function<bool()> should_stop;                                // polled between points
  std::function<void(double fraction, const std::string& status)> progress;
  std::function<void(int series, const SweepPoint& point)> on_point;  // each point as it is decided
  // As a point starts, when its time can be predicted: the fraction reached when it ends as expected, and its
  // expected seconds (a progress bar can move toward it while the point runs).
  std::function<void(double fraction_when_done, double expected_s)> point_started;
};

// Expected seconds of a sweep point whose one run takes `run_ms`: (warmup + repetitions) runs, repetitions as
// run_sweep chooses them (min_timed_s); 0 when the time cap will skip it.
double expected_point_s(const SweepConfig& config, double run_ms);

// Runs the points in order of N, every series at one N before the next N (a cancelled sweep stays comparable).
// Progress follows the time: spent / (spent + expected remaining), each pending point predicted from its FLOPs at
// its series' measured rate (expected_point_s; capped points cost nothing); before any point is measured, the share
// of points done. Its status names the point: "flash, N = 8192 — point 9 of 27".
SweepResult run_sweep(Backend& backend, const SweepConfig& config, const SweepCallbacks& callbacks = {});

// The fits of a series from its points (used by run_sweep; exposed for views that rebuild partial results).
void fit_series(SweepSeriesResult& series, int fit_points);

}  // namespace attnscope
