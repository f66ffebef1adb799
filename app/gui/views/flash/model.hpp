// model.hpp — the FlashAttention mode's model: what the user chose (order, Br × Bc, probed row),
// what the worker computed for it (a traced run, untraced timings of naive and flash, the probed row's exact
// softmax, the cost model's bytes) and the replay of the trace at an animation time. No ImGui or GL here:
// tests use it directly.
//
// Contents
//   FlashOrder / FlashViewKey     the user's choice, and what a result was computed for
//   FlashViewResult               everything the worker hands back (compute_flash_view)
//   TraceReplay                   the trace indexed for "what was unit u doing at time t"
//   FlashViewState                controls, animation clock, the shown result, read-outs for tests
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "core/backend.hpp"
#include "core/block_mask.hpp"
#include "core/cost_model.hpp"
#include "core/sm_timeline.hpp"
#include "core/trace.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope::gui {

struct TaskControl;

// The loop orders (kernels) the view compares. TensorCore is flash-tc (CUDA, fp16/bf16): FA-2 order over a visit
// schedule, Br = 128 × Bc = 64 fixed; for gathered schedules a visit's k_tile is the ordinal of a gathered key block.
enum class FlashOrder { Flash2, Flash1, BlockSparse, TensorCore };
inline constexpr FlashOrder kFlashOrders[] = {FlashOrder::Flash2, FlashOrder::Flash1, FlashOrder::BlockSparse,
                                              FlashOrder::TensorCore};
Algorithm flash_order_algorithm(FlashOrder order);
const char* flash_order_label(FlashOrder order);  // "FA-2 order (flash)", …, "flash (tensor cores)"

// Traced runs are kept small enough to trace and replay quickly; larger experiments are reduced to these
// (and the view says so).
constexpr int64_t kFlashMaxTraceLen = 2048;
constexpr int64_t kFlashMaxTraceHeads = 8;  // batch × query heads
// Untraced timing: one warm-up run, then this many timed runs (median, min, max).
constexpr int kFlashTimedRuns = 5;

struct FlashViewKey {
  ExperimentConfig config;  // the Explore experiment (display-only fields cleared)
  TileConfig tiles;
  FlashOrder order = FlashOrder::Flash2;
  int32_t row = 0;  // probed query row of (batch 0, head 0), before clamping to the traced length
  bool operator==(const FlashViewKey& o) const {
    return config == o.config && tiles.br == o.tiles.br && tiles.bc == o.tiles.bc && order == o.order && row == o.row;
  }
};

// One untimed-by-us, backend-timed run of an algorithm (no trace).
struct FlashRunSummary {
  bool ok = false;
  std::string error;
  Algorithm algorithm = Algorithm::Flash;
  DType dtype = DType::F32;         // what it ran at
  std::string kernel;               // RunResult::kernel (may be empty)
  Timing timing;
  AlgorithmCost cost;               // the cost model for this algorithm, spec and tiles
  uint64_t bytes_allocated = 0;     // reported by the backend
};

// One generation of FlashAttention measured on the traced experiment, for the v1 → v3 comparison: FA-1's loop
// order (flash1), FA-2's (flash-tc on mma.sync where the backend has tensor cores, else the flash twin or kernel), and
// the warp-specialised Hopper kernel (flash-tc's ws path, FlashAttention-3's design). All at one dtype.
struct FlashVersionRow {
  std::string version;              // "FA-1", "FA-2", "FA-3 design"
  std::string design;               // one line on what changed, for the table's tooltip
  std::string refused;              // non-empty: this backend cannot run it (the reason); `run` is then empty
  TensorCorePath path = TensorCorePath::Auto;  // flash-tc's implementation asked for
  FlashRunSummary run;              // untraced: one warm-up, kFlashTimedRuns timed
};

// The trace indexed for replay. Times are the trace's nanoseconds.
struct TraceReplay {
  struct Span {
    int32_t cta = 0;           // index into Trace::ctas
    int64_t start = 0, end = 0;  // first visit's start, last visit's end
  };
  int64_t end_ns = 0;                          // latest visit end
  int32_t units = 0;                           // rows of the Gantt chart (max of trace.units and ids seen + 1)
  std::vector<std::vector<Span>> by_unit;      // per unit, CTAs sorted by start
  std::vector<int64_t> unit_busy_until;        // per unit, its last CTA's end (0 when it ran none)
  int64_t tail_start_ns = 0;                   // from here on, fewer than every used unit is busy
  int32_t max_concurrent = 0;                  // most CTAs running at one instant
  // The CTAs (in pass order for FA-1) that processed the probed row's Q tile, and their visits flattened:
  // probe step k was produced by probe_visits[k] (when the counts agree).
  std::vector<int32_t> probe_ctas;
  std::vector<TileVisit> probe_visits;
  int32_t probe_unit = -1;                     // the unit that ran the probe row's first step

  // What one unit was doing at time t: its CTA and the visit in progress (or the last one finished).
  struct Activity {
    int32_t cta = -1;     // -1: idle
    int32_t visit = -1;   // index in the CTA's visits
    double phase = 0;     // 0..1 through that visit
    bool between_visits = false;
  };
  Activity at(const Trace& trace, int32_t unit, int64_t t) const;
  // Probe steps completed by time t (visits of probe_visits that ended at or before t).
  int32_t probe_steps_done(int64_t t) const;
  // The end times of one unit's visits, sorted: what Left / Right step between.
  std::vector<int64_t> unit_step_times(const Trace& trace, int32_t unit) const;
};
TraceReplay build_trace_replay(const Trace& trace, int32_t probe_row);

// The row probed when the user has not picked one: the last row of the first Q tile, min(br, q_len) − 1. Q tile 0
// is handed out first (the CPU pool takes tasks from 0 up; a GPU's first wave starts at block 0; FA-1's first pass
// visits it first), so the online-softmax panel shows data from the first tile steps of the replay; the last row
// of that tile has the most allowed keys under a causal mask.
int32_t default_probe_row(int64_t q_len, int br);

// Everything the worker computed for one FlashViewKey.
struct FlashViewResult {
  FlashViewKey key;
  std::string error;                // set when nothing could be traced (the message names the problem)
  AttentionSpec spec;               // what ran: the experiment, reduced for tracing where needed, at the run dtype
  std::string reduced_note;         // non-empty when the spec was reduced ("N 8192 → 2048 for tracing")
  // The chosen kernel is not built for the experiment's dtype: both runs use the closest one (run_dtype.hpp).
  std::string dtype_note;           // "flash-tc runs fp16 here: the experiment's fp32 is refused (…)"; else empty
  // Per FlashOrder (kFlashOrders' order): why this backend cannot run it at any dtype; empty when it can.
  std::vector<std::string> order_refusals;
  std::string backend, device;
  TileConfig tiles;                 // what the kernel really used (the CUDA teaching kernel fixes 64 × 64)
  FlashRunSummary naive, flash;     // untraced timings (the backend's warm-up + repetitions)
  std::vector<FlashVersionRow> versions;  // FA-1, FA-2, FA-3 design on `spec`'s shape at `versions_dtype`
  DType versions_dtype = DType::F16;
  // Inside one SM: logged by the FA-3 design's run where the backend has the instrumented kernel; else why not.
  std::optional<SmTimeline> sm_timeline;
  std::string sm_timeline_refused;
  double traced_span_ms = 0;        // first tile start to last tile end of the traced run
  Trace trace;
  bool has_trace = false;
  TraceReplay replay;
  std::vector<TileKind> tile_kinds; // tr × tc block mask of the spec at the real tiles
  // flash-tc: the visit schedule the kernel ran (rebuilt on the host: build_visit_schedule is deterministic).
  // gathered: each visit's k_tile is the ordinal of a block of Bc gathered keys within its Q tile, not a K/V tile.
  bool gathered = false;
  VisitSchedule schedule;
  // The keys visit `k_tile` of Q tile `q_tile` covered: the K/V tile's keys [j·Bc, (j+1)·Bc) ∩ [0, N), or the gathered
  // block's key list (padding dropped). Empty for a visit outside the trace.
  std::vector<int64_t> visit_keys(int32_t q_tile, int32_t k_tile) const;

  // The probed row of (batch 0, head 0).
  int32_t row = 0;
  std::vector<double> row_scores;   // s_j = scale · q·k_j (reference, double); -inf where masked
  std::vector<double> exact_p;      // softmax of the whole row, core/reference.hpp
  std::vector<double> kernel_p;     // exp(s_j − m_final) / l_final from the kernel's last probe step
  double max_abs_diff = 0;          // max_j |exact_p − kernel_p|
  bool probe_ok = false;            // the kernel reported probe steps for the row
  double compute_seconds = 0;
};

// The worker-side computation (runs on the worker thread with its backend). Reports progress through
// `control` and returns early (error "cancelled") when control.cancel is set. `previous_naive`, when the
// experiment is unchanged, is reused instead of timing naive again.
std::shared_ptr<const FlashViewResult> compute_flash_view(Backend& backend, TaskControl& control,
                                                          const FlashViewKey& key,
                                                          std::optional<FlashRunSummary> previous_naive);

// The spec a key runs: the experiment validated against `limits`, reduced to the traced size limits.
// Errors (each a sentence) when the experiment itself is invalid.
struct FlashSpecResult {
  bool ok = false;
  AttentionSpec spec;
  std::string reduced_note;
  std::vector<std::string> errors;
};
FlashSpecResult flash_view_spec(const ExperimentConfig& config, const SpecLimits& limits);

// Where the replay is, and where panels drew things (framebuffer pixels), for tests and article figures.
struct FlashLayoutReadout {
  int32_t shown_unit = -1, shown_cta = -1, shown_k_tile = -1, shown_q_tile = -1;
  float k_strip_x = 0, k_strip_y = 0, k_strip_w = 0, k_strip_h = 0;   // the K strip in device memory
  float k_tile_x = 0, k_tile_y = 0, k_tile_w = 0, k_tile_h = 0;       // the highlighted K tile there
  int32_t gantt_bars = 0;            // CTA bars drawn
  float gantt_x = 0, gantt_y = 0, gantt_w = 0, gantt_h = 0;           // the Gantt plot area
  int32_t probe_steps_shown = 0;
  float softmax_plot_x = 0, softmax_plot_y = 0, softmax_plot_w = 0, softmax_plot_h = 0;
  int32_t softmax_legends = 0;            // online-softmax plots that drew a legend this frame
  int32_t softmax_legends_over_data = 0;  // … whose legend box overlaps their data area (should be none)
};

// The tabs of the counters area: naive against the order; FA-1 → FA-3; inside one SM.
enum class FlashTable { Counters, Versions, InsideSm };

struct FlashViewState {
  // Controls.
  FlashOrder order = FlashOrder::Flash2;
  TileConfig tiles;
  int32_t row = -1;                 // -1: default_probe_row, chosen when the first result arrives
  std::string row_problem;          // a typed row outside the matrix, not applied: said under the toolbar
  int32_t follow_unit = -1;         // -1: the unit that ran the probed row
  FlashTable table = FlashTable::Counters;  // which tab of the counters area is open
  bool table_switch = true;         // select `table`'s tab at the next frame (set by apply_options)
  // A timeline recorded elsewhere (`attnscope bench --sm-timeline FILE` on an H100/H200), shown when this
  // backend records none; loaded by apply_options' sm-timeline=FILE.
  std::optional<SmTimeline> loaded_timeline;
  std::string loaded_timeline_source;

  // Animation: trace time in ns; at speed 1 the whole run plays in kPlaySeconds.
  static constexpr double kPlaySeconds = 12.0;
  bool playing = true;
  double time_ns = 0;
  double speed = 1.0;
  std::optional<double> start_fraction;  // --flash-view at=F: paused at F of the run on arrival

  // Work.
  std::optional<FlashViewKey> submitted;
  std::shared_ptr<const FlashViewResult> result;

  FlashLayoutReadout readout;

  // Reads "at=0.4,order=flash1,table=versions,br=32,bc=64,row=100,unit=0,sm-timeline=FILE" (any subset; FILE
  // without commas): `attnscope render --flash-view`, to draw
  // the animation at chosen points. Returns the problems it found.
  std::vector<std::string> apply_options(const std::string& text);
};

}  // namespace attnscope::gui
