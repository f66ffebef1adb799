// model.cpp — see model.hpp.
#include "app/gui/views/lesson/model.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/gui/shell/app_state.hpp"
#include "app/gui/widgets/format.hpp"
#include "core/cost_model.hpp"
#include "core/lesson_values.hpp"
#include "core/mask.hpp"

namespace attnscope::gui {
namespace fs = std::filesystem;

// ---- vocabulary ----------------------------------------------------------------------------------------------

const std::vector<LessonElement>& lesson_elements() {
  static const std::vector<LessonElement> elements = {
      {"controls", "Explore"},         {"heatmap", "Explore"},
      {"tile-stream", "FlashAttention"}, {"gantt", "FlashAttention"},
      {"counters", "FlashAttention"},  {"online-softmax", "FlashAttention"},
      {"pattern-editor", "Sparsity"},  {"block-grid", "Sparsity"},
      {"compare", "Sparsity"},         {"sweep", "Scaling"},
      {"timing", "Scaling"},           {"memory", "Scaling"},
      {"roofline", "Scaling"},         {"kv-controls", "KV cache"},
      {"kv-table", "KV cache"},        {"kv-fill", "KV cache"},
      {"kv-plots", "KV cache"},        {"training-memory", "Training"},
      {"training-sweep", "Training"},  {"backward-loop", "Training"},
      {"beyond-sweep", "Beyond attention"},  {"beyond-layer", "Beyond attention"},
      {"beyond-decode", "Beyond attention"}, {"beyond-approximation", "Beyond attention"},
  };
  return elements;
}

LessonVocabulary app_lesson_vocabulary() {
  LessonVocabulary v = core_lesson_vocabulary();
  // The modes a step may set: the app's tabs (tests check that each is one of mode_names()).
  v.modes = {"Explore", "FlashAttention", "Sparsity", "Scaling", "KV cache", "Training", "Beyond attention"};
  for (const LessonElement& e : lesson_elements()) {
    v.panels.emplace_back(e.name);
    v.highlights.emplace_back(e.name);
  }
  v.highlights.emplace_back("narration");  // the lesson pane itself
  return v;
}

// ---- the catalogue -------------------------------------------------------------------------------------------

std::vector<LessonEntry> scan_lessons(const std::string& dir, const LessonVocabulary& vocabulary) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json") files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  std::vector<LessonEntry> out;
  for (const std::string& path : files) {
    LessonEntry entry;
    entry.path = path;
    LessonLoad load = load_lesson_file(path, vocabulary);
    if (load.lesson) {
      entry.title = load.lesson->title;
      entry.summary = load.lesson->summary;
      entry.steps = static_cast<int>(load.lesson->steps.size());
    } else {
      entry.title = fs::path(path).filename().string();
      entry.errors = std::move(load.errors);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string find_lessons_dir(const std::string& override, const std::string& exe_dir, const std::string& source_dir) {
  if (!override.empty()) return override;
  std::vector<fs::path> candidates;
  if (!exe_dir.empty()) {
    candidates.push_back(fs::path(exe_dir) / ".." / "share" / "attnscope" / "lessons");
    candidates.push_back(fs::path(exe_dir) / ".." / ".." / "assets" / "lessons");
  }
  if (!source_dir.empty()) candidates.push_back(fs::path(source_dir) / "assets" / "lessons");
  for (const fs::path& c : candidates)
    if (std::error_code ec; fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec).string();
  return candidates.empty() ? std::string() : candidates.back().string();
}

// ---- applying a step -----------------------------------------------------------------------------------------

StepPlan plan_step(const LessonStep& step, const ExperimentConfig& draft, const std::string& source) {
  StepPlan plan;
  plan.mode = step.mode;
  if (!step.experiment_json.empty()) {
    ConfigResult merged = from_json(step.experiment_json, source + ":" + std::to_string(step.line), draft);
    if (merged.ok) plan.experiment = merged.config;
    else plan.errors = merged.errors;
  }
  plan.animation = step.animation;
  plan.zoom = step.zoom;
  plan.panel = step.panel;
  plan.highlight = step.highlight;
  plan.highlight_style = step.highlight_style;
  plan.model = step.model;
  return plan;
}

void apply_step(UiState& ui, const LessonStep& step, const std::string& source) {
  StepPlan plan = plan_step(step, ui.draft, source);
  ui.requested_mode = plan.mode;
  if (plan.experiment) {
    ExperimentConfig config = *plan.experiment;
    // The mask editor follows the text (as an undo step does); "causal" written as a term becomes the checkbox.
    const MaskParseResult parsed = parse_mask(config.mask);
    if (parsed.ok) {
      ui.terms = parsed.mask.terms;
      ui.grid = parsed.mask.grid;
      if (parsed.mask.causal) config.causal = true;
      MaskSpec editor;
      editor.terms = ui.terms;
      editor.grid = ui.grid;
      config.mask = editor.to_string();
      ui.mask_text = config.mask;
      ui.mask_text_error.clear();
    }
    ui.draft = config;
    ui.request(UiCommand::ApplyDraft);
  }
  ui.view_request = ViewRequest{};
  ui.view_request.mode = plan.mode;
  ui.view_request.animation = plan.animation;
  ui.view_request.zoom = plan.zoom;
  ui.view_request.panel = plan.panel;
  ui.view_request.model = plan.model;
  ui.highlight = plan.highlight;
  ui.highlight_scrolled_to.clear();  // a new step's subject is brought into view again
  ui.highlight_mode = plan.highlight_style == HighlightStyle::Spotlight ? HighlightMode::Spotlight : HighlightMode::Outline;
}

// ---- measured values -----------------------------------------------------------------------------------------

std::string run_key(const ExperimentConfig& config, const LessonRun& run) {
  std::ostringstream key;
  key << to_json(config) << "|";
  for (const auto& a : run.algorithms) key << a << ",";
  key << "|";
  for (int64_t n : run.ns) key << n << ",";
  if (run.training) key << "|training";
  return key.str();
}

namespace {

const LessonMeasure* find_measure(const LessonRunResult& r, const std::string& algorithm, int64_t n) {
  for (const LessonMeasure& m : r.measures)
    if (m.algorithm == algorithm && m.n == n) return &m;
  return nullptr;
}

std::string times_text(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ratio >= 10 ? "%.0f×" : ratio >= 1 ? "%.1f×" : "%.2f×", ratio);
  return buf;
}

// The values of one algorithm at one N, under `suffix` ("" or ".2048").
void measured_values_at(std::map<std::string, std::string>& out, const std::string& algorithm, const std::string& suffix,
                        const LessonMeasure* m, const LessonMeasure* baseline) {
  const std::string a = algorithm + suffix;
  if (!m) return;
  if (!m->ok) {
    const std::string why = "not run: " + m->error;
    for (const char* q : {"time", "bytes", "memory", "flops", "rate", "bandwidth", "speedup"}) out[std::string(q) + "." + a] = why;
    for (const char* q : kTrainingQuantities) out[std::string(q) + "." + a] = why;
    out["oom." + a] = m->out_of_memory ? "refused for memory (" + m->error + ")" : why;
    return;
  }
  out["time." + a] = format_time_ms(m->median_ms);
  out["bytes." + a] = format_bytes(m->bytes_moved);
  out["memory." + a] = format_bytes(static_cast<double>(m->bytes_allocated));
  out["flops." + a] = format_si(m->flops, "FLOP");
  const double seconds = m->median_ms * 1e-3;
  out["rate." + a] = seconds > 0 ? format_flops_rate(m->flops / seconds) : "—";
  out["bandwidth." + a] = seconds > 0 ? format_bytes(m->bytes_moved / seconds) + "/s" : "—";
  out["oom." + a] = "ran";
  // Training quantities: present only when the run asked for them (the lesson's parser allows them only then).
  if (m->trained) {
    out["fwd_time." + a] = format_time_ms(m->forward_ms);
    out["bwd_time." + a] = format_time_ms(m->backward_ms);
    out["infer_peak." + a] = format_bytes(static_cast<double>(m->inference_peak));
    out["train_peak." + a] = format_bytes(static_cast<double>(m->training_peak));
    out["saved." + a] = format_bytes(static_cast<double>(m->saved_bytes));
    out["train_ratio." + a] =
        m->inference_peak ? times_text(static_cast<double>(m->training_peak) / static_cast<double>(m->inference_peak))
                          : "—";
  } else if (!m->training_error.empty()) {
    for (const char* q : kTrainingQuantities) out[std::string(q) + "." + a] = "not trained: " + m->training_error;
  }
  if (baseline && baseline->ok && m->median_ms > 0)
    out["speedup." + a] = times_text(baseline->median_ms / m->median_ms);
  else if (baseline)
    out["speedup." + a] = "not measured: " + (baseline->error.empty() ? std::string("no time") : baseline->error);
}

}  // namespace

std::map<std::string, std::string> measured_lesson_values(const LessonRun& run, const LessonRunResult* result,
                                                          const std::string& pending_text) {
  std::map<std::string, std::string> out;
  const std::vector<std::string> quantities = core_lesson_vocabulary().quantities;
  if (!result) {
    // Every name the narration may use: the quantities of each algorithm, at each N and without one.
    for (const std::string& q : quantities)
      for (const std::string& a : run.algorithms) {
        out[q + "." + a] = pending_text;
        for (int64_t n : run.ns) out[q + "." + a + "." + std::to_string(n)] = pending_text;
      }
    return out;
  }
  std::vector<int64_t> ns;
  for (const LessonMeasure& m : result->measures)
    if (std::find(ns.begin(), ns.end(), m.n) == ns.end()) ns.push_back(m.n);
  for (const std::string& a : run.algorithms) {
    for (int64_t n : ns) {
      const LessonMeasure* baseline = find_measure(*result, run.algorithms.front(), n);
      const LessonMeasure* m = find_measure(*result, a, n);
      std::string suffix = ".";  // (appended, not "literal" + string: GCC 12's -Wrestrict misfires on that)
      suffix += std::to_string(n);
      measured_values_at(out, a, suffix, m, baseline);
      if (n == ns.back()) measured_values_at(out, a, "", m, baseline);
    }
    // oom.A without N: the backend's answer, not whether the last N ran.
    auto it = result->oom_from.find(a);
    out["oom." + a] = it != result->oom_from.end()
                          ? format_count(it->second)
                          : "no limit up to N = " + format_count(result->max_len);
  }
  return out;
}

std::map<std::string, std::string> lesson_step_values(const LessonStep& step, const ExperimentConfig& config,
                                                      const LessonRunResult* result) {
  // The experiment's values at any size: a step may describe a size the backend would refuse.
  SpecLimits unlimited;
  unlimited.max_len = int64_t{1} << 40;
  unlimited.score_matrix_bytes = ~uint64_t{0};
  unlimited.max_head_dim = 1 << 20;
  const SpecResult spec = to_spec(config, unlimited);
  std::map<std::string, std::string> values = computed_lesson_values(spec.spec, step.model);
  if (step.run) {
    for (auto& [name, value] : measured_lesson_values(*step.run, result, kMeasuringText)) values[name] = value;
  }
  return values;
}

// ---- the view's state ----------------------------------------------------------------------------------------

bool open_lesson(LessonViewState& view, const std::string& path, const LessonVocabulary& vocabulary) {
  LessonLoad load = load_lesson_file(path, vocabulary);
  if (!load.lesson) {
    view.open_errors = std::move(load.errors);
    return false;
  }
  view.open_errors.clear();
  view.lesson = std::move(load.lesson);
  view.runs.clear();
  view.asked_key.clear();
  view.run_error.clear();
  view.step = 0;
  view.applied_step = -1;
  return true;
}

void go_to_step(LessonViewState& view, int index) {
  if (!view.open()) return;
  view.step = std::clamp(index, 0, view.steps() - 1);
  view.applied_step = -1;  // applied on the next frame, even when it is the same step ("return to step")
}

void close_lesson(LessonViewState& view) {
  view.lesson.reset();
  view.runs.clear();
  view.asked_key.clear();
  view.step = 0;
  view.applied_step = -1;
}

std::map<std::string, std::string> current_step_values(const LessonViewState& view) {
  if (!view.open()) return {};
  const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
  const LessonRunResult* result = nullptr;
  if (step.run) {
    auto it = view.runs.find(run_key(view.step_config, *step.run));
    if (it != view.runs.end()) result = &it->second;
  }
  std::map<std::string, std::string> values = lesson_step_values(step, view.step_config, result);
  if (step.run && !result && !view.run_error.empty())
    for (auto& [name, value] : measured_lesson_values(*step.run, nullptr, "not measured (" + view.run_error + ")"))
      values[name] = value;
  return values;
}

bool lesson_step_ready(const LessonViewState& view) {
  if (!view.open() || view.applied_step != view.step) return false;
  const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
  return !step.run || view.runs.count(run_key(view.step_config, *step.run)) > 0 || !view.run_error.empty();
}

std::vector<std::string> unfilled_placeholders(const LessonViewState& view) {
  if (!view.open()) return {};
  const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
  const std::map<std::string, std::string> values = current_step_values(view);
  std::vector<std::string> out = fill_placeholders(step.narration, values).missing;
  for (const std::string& name : placeholders_in(step.narration)) {
    auto it = values.find(name);
    if (it != values.end() && it->second == kMeasuringText) out.push_back(name + " (still measuring)");
  }
  return out;
}

LessonPosition lesson_position(const LessonViewState& view) {
  if (!view.open()) return {};
  return {view.lesson->source, view.step + 1};
}

bool restore_lesson_position(LessonViewState& view, const LessonPosition& position, const LessonVocabulary& vocabulary) {
  if (position.lesson.empty() || !open_lesson(view, position.lesson, vocabulary)) return false;
  go_to_step(view, position.step - 1);
  return true;
}

}  // namespace attnscope::gui
