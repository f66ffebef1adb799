// model.hpp — the Training mode's state (held by UiState::training) and the worker tasks that fill it:
//   training run   the current experiment trained once with naive and once with flash (Backend::run_backward):
//                  peak memory of forward-only, forward + saved and forward + backward by category, forward and
//                  backward time, and flash's trace of the backward tile loop (from a reduced run, as the
//                  FlashAttention mode traces)
//   sweep          forward + backward of naive and flash against N, streamed point by point; over-budget points
//                  answered without running (the backend predicts the peak first) and marked
//   replay         which task of the backward tile loop runs where at a trace instant (backward_loop_at): pure, so
//                  the model tests check it
// No ImGui or GL here.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/backend.hpp"
#include "core/experiment.hpp"

namespace attnscope::gui {

// The traced run of the backward loop is reduced to this (the animation shows the loop, not its size).
constexpr int64_t kTrainingMaxTraceLen = 512;
constexpr int64_t kTrainingMaxTraceHeads = 4;  // batch × query heads
constexpr int kTrainingTimedRuns = 3;

struct TrainingRun {
  int number = 0;
  std::string experiment;   // AttentionSpec::label() of the measured run
  AttentionSpec spec;
  BackwardRunResult naive, flash;  // gradients dropped
  std::string traced_experiment;   // the reduced spec the trace comes from
  std::optional<BackwardTrace> trace;
  std::string trace_error;
  bool cancelled = false;
  double seconds = 0;
};

// One N of the sweep for one algorithm.
enum class TrainingPointStatus { Measured, OverBudget, OverTimeCap, Failed };
const char* training_point_status_name(TrainingPointStatus s);  // "measured", "over the memory budget", ...
struct TrainingSweepPoint {
  int64_t n = 0;
  TrainingPointStatus status = TrainingPointStatus::Measured;
  std::string note;             // the backend's words for a point not measured
  double forward_ms = 0, backward_ms = 0;  // medians
  uint64_t peak_bytes = 0;      // forward + backward, by the backend (the needed bytes when over budget)
  uint64_t saved_bytes = 0;     // P or lse
};
struct TrainingSweepSeries {
  Algorithm algorithm = Algorithm::Flash;
  std::vector<TrainingSweepPoint> points;
};
struct TrainingSweepConfig {
  std::vector<int64_t> lengths;        // powers of two
  int64_t batch = 1, heads = 4, kv_heads = 4, head_dim = 64;
  bool causal = false;
  int repetitions = 1;
  double time_cap_s = 1.0;             // a series stops measuring after a point slower than this (forward + backward)
  uint64_t memory_budget_bytes = 0;    // 0: the backend's capacity
};
struct TrainingSweep {
  TrainingSweepConfig config;
  std::vector<TrainingSweepSeries> series;  // naive, flash
  uint64_t capacity_bytes = 0;              // what the budget was (the backend's capacity or the one set)
  std::string capacity_words;
  bool cancelled = false;
};
struct TrainingSweepLive {
  std::mutex mutex;
  TrainingSweep partial;
  uint64_t version = 0;
};

// The sweep the mode starts with: N = 256 … 32768, the experiment's batch, heads, head dimension and causality.
TrainingSweepConfig initial_training_sweep_config(const AttentionSpec& experiment, const BackendCapabilities& backend);

// ---- memory stacks
struct MemorySegment {
  const char* category;  // "Q, K, V, O", "saved for backward", "dO and gradients", "workspace"
  uint64_t bytes = 0;
};
// The four categories of a TrainingMemory, in stacking order (bottom first).
std::array<MemorySegment, 4> memory_segments(const TrainingMemory& m, Algorithm algorithm);

// ---- the backward loop at an instant
// A K/V tile task's state at the replayed instant.
struct BackwardTaskAt {
  int32_t task = 0;            // index in BackwardTrace::tasks
  int32_t kv_tile = 0, kv_head = 0, batch = 0, unit = 0;
  int32_t visits_done = 0;     // Q-tile visits finished (dK, dV have accumulated these)
  int32_t visits = 0;          // of this many
  int32_t current = -1;        // the visit running now (index), -1 when none
  bool running = false, finished = false;
};
struct BackwardLoopAt {
  int64_t end_ns = 0;                        // the run's last end
  std::vector<BackwardTaskAt> tasks;         // one per trace task
  // Per (query head, Q tile) of batch 0: how many K/V tiles have added into that tile's rows of dQ so far (visits
  // with allowed pairs, finished), and how many will in all. Row-major: head × tr.
  std::vector<int32_t> dq_updates, dq_updates_total;
  int32_t running_tasks = 0;
};
BackwardLoopAt backward_loop_at(const BackwardTrace& trace, int64_t time_ns);

// ---- view state
enum class TrainingPanel { Memory, Sweep, BackwardLoop };
inline constexpr const char* kTrainingPanelNames[] = {"Memory and time", "Sweep", "Backward loop"};

struct TrainingViewState {
  TrainingPanel panel = TrainingPanel::Memory;
  std::string requested_panel;  // a tab by name, selected on the next frame

  // The training run of the experiment.
  std::optional<TrainingRun> run;
  uint64_t run_generation = 0;   // AppState::generation of the last run started
  int runs_started = 0;

  // Sweep.
  bool sweep_configured = false;
  TrainingSweepConfig sweep_config;
  int budget_mib = 0;            // the sweep's memory budget field (MiB, 0: the backend's capacity)
  bool sweep_started = false;
  std::shared_ptr<TrainingSweepLive> live;
  uint64_t live_version_seen = 0;
  std::optional<TrainingSweep> sweep;

  // Replay of the backward loop: at speed 1 the traced run plays in kPlaySeconds.
  static constexpr double kPlaySeconds = 10.0;
  bool playing = true;
  double time_ns = -1;  // -1: placed at kStartFraction of the run when a trace arrives
  static constexpr double kStartFraction = 0.4;
  std::optional<double> requested_fraction;  // a lesson step's "animation": placed there and paused
  double speed = 1.0;
};

inline constexpr const char* kTrainingSweepView = "Training/sweep";
inline constexpr TaskChannel<TrainingRun> kTrainingRunChannel{"Training.run", "Training"};
inline constexpr TaskChannel<TrainingSweep> kTrainingSweepChannel{"Training.sweep", kTrainingSweepView};
TaskFn<TrainingRun> make_training_run_task(const ExperimentConfig& config, const AttentionSpec& spec, int number);
TaskFn<TrainingSweep> make_training_sweep_task(const TrainingSweepConfig& config, std::shared_ptr<TrainingSweepLive> live);

}  // namespace attnscope::gui
