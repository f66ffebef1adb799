// model.hpp — the Scaling mode's state (held by UiState::scaling) and the worker tasks that fill it:
//   timing runs   every algorithm the backend supports on the current experiment: median, min–max, history; an
//                 algorithm refused at the experiment's dtype but built for another runs at the closest one
//                 (run_dtype.hpp) and is labelled with it ("flash fp32", "flash-tc fp16")
//   sweep         N = 256 … 65536 for naive, flash and a sparse pattern (core/scaling.hpp), streamed point by point
//   ceilings      the device's copy bandwidth and GEMM rate, measured once (Backend::measure_ceilings)
//   memory        Backend::memory(), polled every few seconds by the status bar
// Tasks run on the worker (channels below); the mode takes their results in its draw function.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "core/backend.hpp"
#include "core/scaling.hpp"

namespace attnscope::gui {


// One algorithm of a timing run.
struct AlgorithmTiming {
  Algorithm algorithm = Algorithm::Flash;
  DType dtype = DType::F32;                   // what it ran at: the experiment's, or the closest supported
  bool dtype_substituted = false;             // dtype differs from the experiment's
  std::string dtype_refused;                  // substituted: why the experiment's dtype was refused
  std::string kernel;                         // RunResult::kernel: what ran, in the backend's words (may be empty)
  bool ok = false;
  bool out_of_memory = false;
  std::string error;
  Timing timing;
  double flops = 0, bytes_moved = 0;          // cost model
  uint64_t bytes_allocated = 0;               // measured by the backend: S/P, workspace
  uint64_t bytes_needed = 0, bytes_free = 0;  // out of memory
};

// One press of "Run" (or an automatic run after the experiment changed).
struct TimingRun {
  int number = 0;                 // 1, 2, … in this session
  std::string experiment;         // AttentionSpec::summary()
  AttentionSpec spec;
  int repetitions = 0;
  std::vector<AlgorithmTiming> algorithms;
  std::vector<std::string> not_run;  // "flash: <the backend's reason>": refused here at every dtype
  bool cancelled = false;
  double seconds = 0;
};

// The sweep's points as they arrive (written by the task, read by the UI when `version` changes).
struct SweepLive {
  std::mutex mutex;
  SweepResult partial;  // series in config order; points appended as they are decided
  uint64_t version = 0;
};

struct MemoryReadout {
  std::optional<MemoryInfo> info;  // the last answer
  double asked_at = -1e9;          // ImGui time of the last poll
  // Every answer (at most kMemoryHistory): ImGui time (s), used and free bytes.
  std::vector<double> seconds, used_bytes, free_bytes;
};
inline constexpr size_t kMemoryHistory = 1200;

enum class ScalingPanel { Scaling, Timing, Memory, Roofline };
inline constexpr const char* kScalingPanelNames[] = {"Scaling", "Timing", "Memory", "Roofline"};

struct ScalingViewState {
  ScalingPanel panel = ScalingPanel::Scaling;
  std::string requested_panel;  // select a panel by name on the next frame ("Roofline"), then cleared

  // Timing
  std::vector<TimingRun> history;
  uint64_t timed_generation = 0;  // AppState::generation of the last automatic run
  bool auto_time = true;          // time the experiment whenever it changes while this mode is shown
  int timing_repetitions = 5;
  int runs_started = 0;

  // Sweep
  bool sweep_configured = false;  // false: configured from the experiment and backend on first draw
  SweepConfig sweep_config;
  std::string sparse_mask = "window:128";
  bool sweep_started = false;     // the first draw of the Scaling panel starts one
  std::shared_ptr<SweepLive> live;
  uint64_t live_version_seen = 0;
  std::optional<SweepResult> sweep;  // the shown sweep: partial while running, whole when done

  // Ceilings
  bool ceilings_requested = false;
  std::optional<DeviceCeilings> ceilings;

  MemoryReadout memory;
};

// The tasks (run on the worker with its Backend) and their channels. The sweep is shown only by the Scaling
// panel, so it runs only while that panel is on screen (the mode marks kSweepView visible when it draws it); the
// timing run and the ceilings serve the other panels and run while the mode is shown; the memory readout is the
// status bar's.
inline constexpr const char* kSweepView = "Scaling/sweep";
inline constexpr TaskChannel<SweepResult> kSweepChannel{"Scaling.sweep", kSweepView};
inline constexpr TaskChannel<TimingRun> kTimingChannel{"Scaling.timing", "Scaling"};
inline constexpr TaskChannel<DeviceCeilings> kCeilingsChannel{"Scaling.ceilings", "Scaling"};
inline constexpr TaskChannel<MemoryInfo> kMemoryChannel{"status.memory", kAppView};
TaskFn<TimingRun> make_timing_task(const ExperimentConfig& config, const AttentionSpec& spec, int repetitions, int number);
TaskFn<SweepResult> make_sweep_task(const SweepConfig& config, std::shared_ptr<SweepLive> live);
TaskFn<DeviceCeilings> make_ceilings_task();
TaskFn<MemoryInfo> make_memory_task();

// The sweep the mode starts with: N = 256 … 65536, naive / flash / block-sparse over `sparse_mask`, the
// experiment's head count and head dimension, fp32; per-run time cap 1 s on the CPU (the sweep takes about half a
// minute there), 5 s on a GPU: the backend's capabilities say which.
SweepConfig initial_sweep_config(const AttentionSpec& experiment, const BackendCapabilities& backend,
                                 const std::string& sparse_mask);

// Algorithms a timing run tries (those the backend does not support at any dtype are reported, not run).
std::vector<Algorithm> timed_algorithms();

// "naive fp16", "flash fp32": the algorithm and the dtype it ran at (the label of legends and tables).
std::string timing_label(const AlgorithmTiming& timing);

}  // namespace attnscope::gui
