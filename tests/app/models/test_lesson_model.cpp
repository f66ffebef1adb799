// test_lesson_model.cpp — lessons in the app without a display: the app's vocabulary (every shipped lesson loads with
// it, an unknown panel is an error naming file and line), step navigation, what applying a step asks of the app,
// and the measured placeholders from a fake run and from a real one on the CPU backend.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "app/gui/shell/app_state.hpp"
#include "app/gui/views/lesson/model.hpp"
#include "core/cpu_backend.hpp"
#include "core/lesson_values.hpp"
#include "app/gui/widgets/format.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

// assets/lessons: from this file's path (tests/app/models/ -> the repository root), or from the working folder up
// (a relative __FILE__ from a build folder inside the source tree).
std::filesystem::path lessons_dir() {
  namespace fs = std::filesystem;
  const fs::path from_file = fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "assets" / "lessons";
  if (fs::is_directory(from_file) && from_file.is_absolute()) return from_file;
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / "assets" / "lessons")) return dir / "assets" / "lessons";
    if (dir == dir.parent_path()) break;
  }
  return from_file;
}

// A two-step lesson: Explore with a zoom, then FlashAttention with a run, a highlight and an animation position.
const char* kTwoSteps = R"({
  "title": "T", "summary": "S",
  "steps": [
    {"title": "one", "mode": "Explore", "experiment": {"n": 128, "mask": "window:16+causal"},
     "zoom": [0.0, 0.0, 0.5, 0.25], "narration": "N is {n}."},
    {"title": "two", "mode": "FlashAttention", "experiment": {"n": 256, "heads": 2, "kv_heads": 2},
     "panel": "gantt", "highlight": "gantt", "highlight_style": "spotlight", "animation": 0.5,
     "run": {"algorithms": ["naive", "flash"], "n": [128, 256]},
     "narration": "naive {time.naive}, flash {time.flash.128}, {speedup.flash}, {bytes.naive}, {oom.naive}"}
  ]
})";

std::filesystem::path write_lesson(const std::string& name, const std::string& text) {
  const auto dir = test::fresh_dir("lesson_model_" + name);
  const auto path = dir / (name + ".json");
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("the app's lesson vocabulary: every shipped lesson loads; modes, panels and highlights are checked") {
  const LessonVocabulary v = app_lesson_vocabulary();
  CHECK(test::any_contains(v.modes, "FlashAttention"));
  CHECK(test::any_contains(v.panels, "tile-stream"));
  CHECK(test::any_contains(v.highlights, "kv-plots"));
  // Each element belongs to a mode the vocabulary accepts.
  for (const LessonElement& e : lesson_elements()) CHECK(test::any_contains(v.modes, e.mode));

  const std::vector<LessonEntry> entries = scan_lessons(lessons_dir().string(), v);
  REQUIRE(entries.size() >= 6);
  for (const LessonEntry& e : entries) {
    INFO(e.path);
    for (auto& error : e.errors) INFO(error);
    CHECK(e.errors.empty());
    CHECK(e.steps > 0);
    CHECK(!e.title.empty());
    CHECK(!e.summary.empty());
  }
}

TEST_CASE("an unknown panel or mode is an error naming the file and the line") {
  const std::string text = R"({"title": "T", "steps": [
  {"title": "a", "mode": "Explore", "narration": "x"},
  {"title": "b", "mode": "Explore",
   "panel": "heat-map", "narration": "x"}
]})";
  const LessonLoad load = parse_lesson(text, "bad.json", app_lesson_vocabulary());
  CHECK(!load.lesson);
  REQUIRE(load.errors.size() == 1);
  CHECK(load.errors[0].find("bad.json:4") == 0);
  CHECK(load.errors[0].find("heat-map") != std::string::npos);
  CHECK(load.errors[0].find("tile-stream") != std::string::npos);  // the choices are listed

  const LessonLoad mode = parse_lesson(R"({"title": "T", "steps": [{"title": "a", "mode": "Flash", "narration": "x"}]})",
                                       "m.json", app_lesson_vocabulary());
  CHECK(test::any_contains(mode.errors, "unknown mode 'Flash'"));

  // A broken file in the lessons folder is listed with its errors; the others still load.
  const auto path = write_lesson("broken", text);
  std::ofstream(path.parent_path() / "good.json") << kTwoSteps;
  const auto entries = scan_lessons(path.parent_path().string(), app_lesson_vocabulary());
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].errors.size() == 1);
  CHECK(entries[0].errors[0].find("broken.json:4") != std::string::npos);
  CHECK(entries[1].errors.empty());
  CHECK(entries[1].steps == 2);
}

TEST_CASE("step navigation: open, next, back, clamped, and the position for the settings file") {
  const auto path = write_lesson("nav", kTwoSteps);
  LessonViewState view;
  CHECK(!view.open());
  CHECK(lesson_position(view).lesson.empty());
  REQUIRE(open_lesson(view, path.string(), app_lesson_vocabulary()));
  CHECK(view.steps() == 2);
  CHECK(view.step == 0);
  CHECK(view.applied_step == -1);  // applied on the next frame
  go_to_step(view, 1);
  CHECK(view.step == 1);
  go_to_step(view, 5);
  CHECK(view.step == 1);
  go_to_step(view, -3);
  CHECK(view.step == 0);
  go_to_step(view, 1);
  CHECK(lesson_position(view) == LessonPosition{path.string(), 2});

  LessonViewState restored;
  REQUIRE(restore_lesson_position(restored, {path.string(), 2}, app_lesson_vocabulary()));
  CHECK(restored.step == 1);
  CHECK(!restore_lesson_position(restored, {(path.parent_path() / "missing.json").string(), 1}, app_lesson_vocabulary()));
  CHECK(test::any_contains(restored.open_errors, "missing.json"));

  // "Return to step" asks for the same step again.
  view.applied_step = 1;
  go_to_step(view, view.step);
  CHECK(view.applied_step == -1);
}

TEST_CASE("applying a step: the mode, the merged experiment with ApplyDraft, the view request and the highlight") {
  const LessonLoad load = parse_lesson(kTwoSteps, "two.json", app_lesson_vocabulary());
  REQUIRE(load.lesson);
  UiState ui;
  ui.draft.seed = 7;  // a key the step does not set is kept
  apply_step(ui, load.lesson->steps[0], "two.json");
  CHECK(ui.requested_mode == "Explore");
  CHECK(ui.draft.n == 128);
  CHECK(ui.draft.seed == 7);
  CHECK(ui.draft.causal);                 // "causal" written as a term becomes the checkbox
  CHECK(ui.draft.mask == "window:16");    // and the editor's text keeps the rest
  CHECK(std::string(ui.mask_text.data()) == "window:16");
  REQUIRE(ui.commands.size() == 1);
  CHECK(ui.commands[0] == UiCommand::ApplyDraft);
  CHECK(ui.view_request.mode == "Explore");
  REQUIRE(ui.view_request.zoom);
  CHECK((*ui.view_request.zoom)[3] == doctest::Approx(0.25));
  CHECK(ui.highlight.empty());

  ui.commands.clear();
  apply_step(ui, load.lesson->steps[1], "two.json");
  CHECK(ui.requested_mode == "FlashAttention");
  CHECK(ui.draft.heads == 2);
  CHECK(ui.view_request.panel == "gantt");
  REQUIRE(ui.view_request.animation);
  CHECK(*ui.view_request.animation == doctest::Approx(0.5));
  CHECK(!ui.view_request.zoom);  // the previous step's zoom is not carried over
  CHECK(ui.highlight == "gantt");
  CHECK(ui.highlight_mode == HighlightMode::Spotlight);

  // A step whose experiment cannot apply says so with the file and line.
  LessonStep bad = load.lesson->steps[0];
  bad.experiment_json = R"({"n": "many"})";
  const StepPlan plan = plan_step(bad, ExperimentConfig{}, "two.json");
  CHECK(!plan.experiment);
  CHECK(test::any_contains(plan.errors, "two.json:" + std::to_string(bad.line)));
}

TEST_CASE("measured placeholders from a fake run: time, bytes, speed-up, refusals and the out-of-memory length") {
  LessonRun run;
  run.algorithms = {"naive", "flash"};
  run.ns = {128, 256};
  // While measuring, every measured name says so.
  const auto pending = measured_lesson_values(run, nullptr, kMeasuringText);
  CHECK(pending.at("time.naive") == kMeasuringText);
  CHECK(pending.at("oom.flash.256") == kMeasuringText);

  LessonRunResult r;
  auto measure = [](const char* a, int64_t n, double ms, double bytes) {
    LessonMeasure m;
    m.algorithm = a;
    m.n = n;
    m.ok = true;
    m.median_ms = ms;
    m.bytes_moved = bytes;
    m.flops = 2e9;
    m.bytes_allocated = 1 << 20;
    return m;
  };
  r.measures = {measure("naive", 128, 2.0, 1 << 20), measure("flash", 128, 0.5, 1 << 18)};
  LessonMeasure refused;
  refused.algorithm = "naive";
  refused.n = 256;
  refused.out_of_memory = true;
  refused.error = "N = 256 needs 262 kB for one head's score matrix";
  r.measures.push_back(refused);
  r.measures.push_back(measure("flash", 256, 1.0, 1 << 19));
  r.oom_from["naive"] = 200;
  r.max_len = 1 << 20;
  const auto values = measured_lesson_values(run, &r, kMeasuringText);
  CHECK(values.at("time.naive.128") == format_time_ms(2.0));  // the app's one formatter
  CHECK(values.at("time.flash.128") == "500 µs");
  CHECK(values.at("bytes.naive.128") == gui::format_bytes(1048576.0));
  CHECK(values.at("speedup.flash.128") == "4.0×");
  CHECK(values.at("memory.flash.128") == "1.0 MiB");
  CHECK(values.at("flops.naive.128").find("GFLOP") != std::string::npos);
  // The last N is the form without .N: naive was refused there, with the backend's reason.
  CHECK(values.at("time.naive").find("not run: N = 256 needs") == 0);
  CHECK(values.at("speedup.flash").find("not measured") == 0);
  CHECK(values.at("oom.naive") == "200");
  CHECK(values.at("oom.naive.256").find("refused for memory") == 0);
  CHECK(values.at("oom.naive.128") == "ran");
  CHECK(values.at("oom.flash") == "no limit up to N = 1,048,576");
}

TEST_CASE("a step's run on the CPU backend: measured times, and naive's real out-of-memory length from its limits") {
  auto backend = make_cpu_backend(2);
  ExperimentConfig config;
  config.head_dim = 16;
  LessonRun run;
  run.algorithms = {"naive"};
  run.ns = {64, 65536};
  TaskControl control;
  const LessonRunResult r = make_lesson_run_task(config, run)(*backend, control);
  CHECK(r.key == run_key(config, run));
  REQUIRE(r.measures.size() == 2);
  CHECK(r.measures[0].ok);  // at 64
  CHECK(r.measures[0].median_ms > 0);
  CHECK(!r.measures[1].ok);  // at 65536: refused by the backend's score-matrix limit, before any input
  CHECK(r.measures[1].out_of_memory);
  // The backend's own rule: one head's fp32 score matrix may take SpecLimits::score_matrix_bytes.
  const SpecLimits limits = backend->limits();
  const int64_t expected = [&] {
    int64_t n = 1;
    while (4.0 * static_cast<double>(n) * static_cast<double>(n) <= static_cast<double>(limits.score_matrix_bytes)) ++n;
    return n;
  }();
  REQUIRE(r.oom_from.count("naive"));
  CHECK(r.oom_from.at("naive") == expected);

  // When every length of the run fits, the answer still comes from the backend's rule, up to its longest sequence;
  // flash works tile by tile and has no score matrix to refuse.
  LessonRun small;
  small.algorithms = {"naive", "flash"};
  small.ns = {64};
  const LessonRunResult s = make_lesson_run_task(config, small)(*backend, control);
  REQUIRE(s.oom_from.count("naive"));
  CHECK(s.oom_from.at("naive") == expected);
  CHECK(!s.oom_from.count("flash"));

  // Every placeholder of a step with this run is filled with a value, none left "measuring…".
  LessonStep step;
  step.narration = "{time.naive.64} {oom.naive} {speedup.flash.64} {memory.naive.64} {n}";
  step.run = small;
  step.run->ns = {64};
  LessonRunResult both = s;
  both.measures.insert(both.measures.end(), r.measures.begin(), r.measures.end());
  const auto values = lesson_step_values(step, config, &both);
  const FilledText filled = fill_placeholders(step.narration, values);
  CHECK(filled.missing.empty());
  CHECK(filled.text.find(kMeasuringText) == std::string::npos);
  CHECK(filled.text.find(format_count(expected)) != std::string::npos);
}

TEST_CASE("training placeholders from a fake training run: times, peaks, saved bytes, the ratio; refusals say why") {
  LessonRun run;
  run.algorithms = {"naive", "flash"};
  run.ns = {512};
  run.training = true;
  LessonRunResult r;
  LessonMeasure naive;
  naive.algorithm = "naive";
  naive.n = 512;
  naive.ok = true;
  naive.median_ms = 1.0;
  naive.trained = true;
  naive.forward_ms = 2.0;
  naive.backward_ms = 5.0;
  naive.inference_peak = 4 << 20;
  naive.training_peak = 10 << 20;
  naive.saved_bytes = 4 << 20;
  LessonMeasure flash;
  flash.algorithm = "flash";
  flash.n = 512;
  flash.ok = true;
  flash.median_ms = 1.0;
  flash.training_error = "the cuda backend has no backward pass yet; choose the CPU backend";
  r.measures = {naive, flash};
  const auto values = measured_lesson_values(run, &r, kMeasuringText);
  CHECK(values.at("fwd_time.naive") == format_time_ms(2.0));
  CHECK(values.at("bwd_time.naive.512") == format_time_ms(5.0));
  CHECK(values.at("infer_peak.naive") == "4.0 MiB");
  CHECK(values.at("train_peak.naive") == "10.0 MiB");
  CHECK(values.at("saved.naive") == "4.0 MiB");
  CHECK(values.at("train_ratio.naive") == "2.5×");
  CHECK(values.at("train_peak.flash").find("not trained: the cuda backend has no backward pass") == 0);
  // A training run is a different measurement from the same run untimed for training.
  LessonRun untimed = run;
  untimed.training = false;
  CHECK(run_key(ExperimentConfig{}, run) != run_key(ExperimentConfig{}, untimed));
}
