// model.hpp — lessons in the app: which lessons there are, the open lesson and its step, what applying a step asks
// of the app, and the measured numbers behind a step's placeholders. No ImGui or GL (attnscope_gui_models).
//
// Contents
//   app_lesson_vocabulary   the modes, panels and highlightable elements the app accepts (the app and tests use it)
//   LessonEntry, scan_lessons, find_lessons_dir     the catalogue: assets/lessons/*.json
//   StepPlan, plan_step, apply_step                 a step -> mode, experiment, view request, highlight
//   LessonMeasure, LessonRunResult                  what the worker measured for a step's "run"
//   lesson_step_values, step_text_complete          placeholder values: computed, measured, "measuring…" or why not
//   LessonViewState                                 what UiState holds
//
// Measured placeholders, for each algorithm A of the step's run at each of its N (the form without .N is the run's
// last N): time.A (median of the timed repetitions), bytes.A (bytes through main memory, by the cost model), memory.A
// (what the algorithm allocated beyond inputs and output: S and P for naive), flops.A (by the cost model), rate.A
// (flops / time), bandwidth.A (bytes / time), speedup.A (the run's first algorithm's time / A's time, "3.2×"), and
// oom.A: the smallest sequence length at which the backend refuses A for memory — its own limits() rule, bisected,
// or the first N of the run whose RunResult said out of memory — with no N: that length; with .N: whether A ran at N.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/experiment.hpp"
#include "core/lesson.hpp"
#include "core/settings.hpp"

namespace attnscope::gui {

struct UiState;

// ---- vocabulary ----
// The element a lesson names and the mode that draws it.
struct LessonElement {
  const char* name;  // "tile-stream"
  const char* mode;  // "FlashAttention"
};
// Every panel a lesson may bring forward or highlight (views record their rects under these names).
const std::vector<LessonElement>& lesson_elements();
// core_lesson_vocabulary() plus the app's modes, panels and highlights: what parse_lesson checks in the app.
LessonVocabulary app_lesson_vocabulary();

// ---- the catalogue ----
struct LessonEntry {
  std::string path;
  std::string title, summary;
  int steps = 0;
  std::vector<std::string> errors;  // "FILE:LINE: ..." when the file does not load
};
// Every *.json in `dir`, sorted by file name; a broken file is listed with its errors.
std::vector<LessonEntry> scan_lessons(const std::string& dir, const LessonVocabulary& vocabulary);
// The lessons folder: `override` when given, else the first of <exe_dir>/../share/attnscope/lessons (installed),
// <exe_dir>/../../assets/lessons (a build tree in the source tree) and <source_dir>/assets/lessons that exists.
std::string find_lessons_dir(const std::string& override, const std::string& exe_dir, const std::string& source_dir);

// ---- applying a step ----
struct StepPlan {
  std::string mode;
  std::optional<ExperimentConfig> experiment;  // the draft with the step's keys merged; empty when it sets none
  std::vector<std::string> errors;             // the step's experiment keys did not apply
  std::optional<double> animation;
  std::optional<std::array<double, 4>> zoom;
  std::string panel, highlight, model;
  HighlightStyle highlight_style = HighlightStyle::Outline;
};
StepPlan plan_step(const LessonStep& step, const ExperimentConfig& draft, const std::string& source);
// Sets UiState: requested_mode, the draft (and the mask editor) followed by ApplyDraft, view_request, highlight.
void apply_step(UiState& ui, const LessonStep& step, const std::string& source);

// ---- measured values ----
struct LessonMeasure {
  std::string algorithm;
  int64_t n = 0;
  bool ok = false;
  bool out_of_memory = false;
  std::string error;  // why it did not run
  double median_ms = 0, flops = 0, bytes_moved = 0;
  uint64_t bytes_allocated = 0;
  // A training run ("training": true): forward + backward by Backend::run_backward.
  bool trained = false;               // run_backward answered ok
  std::string training_error;         // why not, when asked and not ok
  double forward_ms = 0, backward_ms = 0;
  uint64_t inference_peak = 0, training_peak = 0, saved_bytes = 0;
};
struct LessonRunResult {
  std::string key;  // what it measured (run_key)
  std::vector<LessonMeasure> measures;
  std::map<std::string, int64_t> oom_from;  // algorithm -> smallest N refused for memory (absent: none found)
  int64_t max_len = 0;                      // the backend's longest sequence (oom: "none up to ...")
  double seconds = 0;
};
// The key a step's run is measured for: the step's experiment and its run.
std::string run_key(const ExperimentConfig& config, const LessonRun& run);
TaskFn<LessonRunResult> make_lesson_run_task(const ExperimentConfig& config, const LessonRun& run);
inline constexpr TaskChannel<LessonRunResult> kLessonRunChannel{"Lesson.run", "Lessons"};

// The measured placeholders of `run` from a result (absent result: every one maps to `pending_text`).
std::map<std::string, std::string> measured_lesson_values(const LessonRun& run, const LessonRunResult* result,
                                                          const std::string& pending_text);
inline constexpr const char* kMeasuringText = "measuring…";

// All of a step's placeholder values: the experiment ({n}, ...), the cost model ({calc.*}), the model preset and
// the measured run (or "measuring…" while `result` is absent).
std::map<std::string, std::string> lesson_step_values(const LessonStep& step, const ExperimentConfig& config,
                                                      const LessonRunResult* result);

// ---- the view's state ----
struct LessonViewState {
  std::string dir;                     // the lessons folder (find_lessons_dir)
  std::vector<LessonEntry> catalogue;  // scanned when the Lessons tab first draws
  bool scanned = false;
  std::vector<std::string> open_errors;  // the last lesson that failed to open

  std::optional<Lesson> lesson;  // the open lesson
  int step = 0;                  // 0-based
  int applied_step = -1;         // the step whose state was last applied (-1: none yet)
  ExperimentConfig step_config;  // the experiment the current step set (its placeholders' values)
  std::map<std::string, LessonRunResult> runs;  // measured results by run_key (kept while the lesson is open)
  std::string asked_key;                 // the run in flight
  std::string run_error;                 // the last run's task failed: its message
  bool navigation_keys = true;           // Space / → / ← move through the steps (the modes leave them alone)

  bool open() const { return lesson.has_value(); }
  int steps() const { return lesson ? static_cast<int>(lesson->steps.size()) : 0; }
};

// Loads `path` into the view (first step, not applied yet); false with the errors in open_errors.
bool open_lesson(LessonViewState& view, const std::string& path, const LessonVocabulary& vocabulary);
// Where the user is, for the settings file (core/settings.hpp's LessonPosition): the lesson file and the step
// (1-based); lesson "" when none is open.
LessonPosition lesson_position(const LessonViewState& view);
// Opens the file at that step (clamped to the lesson's steps); false with the errors in open_errors.
bool restore_lesson_position(LessonViewState& view, const LessonPosition& position, const LessonVocabulary& vocabulary);
// Moves to step `index` (clamped); the step is applied on the next frame (applied_step differs).
void go_to_step(LessonViewState& view, int index);
void close_lesson(LessonViewState& view);

// The open step's placeholder values (its experiment, its model, its run: measured, "measuring…", or why not).
std::map<std::string, std::string> current_step_values(const LessonViewState& view);
// The open step has been applied and its run (if any) has a result or a failure.
bool lesson_step_ready(const LessonViewState& view);
// Placeholders of the open step with no value yet: unknown names, and measured ones still "measuring…".
std::vector<std::string> unfilled_placeholders(const LessonViewState& view);

}  // namespace attnscope::gui
