// lesson.hpp — a guided lesson: a list of steps, each with narration and the app state it sets, read from a JSON
// data file (assets/lessons/*.json), so adding or editing a lesson needs no code change. No UI here: the app applies
// a step's state and draws its narration; tests load every shipped lesson without a display.
//
// Contents
//   Narration markup     paragraphs split by blank lines; **bold**, `code`; any Unicode (math symbols) as is
//   Placeholders         {quantity.algorithm} in narration, filled from a measured run ({time.naive}, {oom.naive})
//   Lesson, LessonStep   the data
//   parse_lesson         JSON text -> Lesson; every error names the file, the line and the key
//
// File form (keys other than these are errors, so a typo is reported rather than ignored):
//   { "title": "...", "summary": "...", "steps": [ {
//       "title": "...",                     required
//       "narration": "..." or ["para", ...], required; a list is joined with blank lines
//       "mode": "Explore",                  required; one of the app's modes
//       "experiment": { "n": 256, ... },    optional; ExperimentConfig keys set by this step
//       "panel": "heatmap",                 optional; the panel brought to the front
//       "zoom": [x0, y0, x1, y1],           optional; the visible window of the matrix, fractions 0..1
//       "animation": 0.5,                   optional; replay position, fraction 0..1
//       "highlight": "tile-stream", "highlight_style": "outline" | "spotlight",   optional
//       "model": "llama2-7b",               optional; a model preset for {model.*} placeholders
//       "run": { "algorithms": ["naive", "flash"], "n": [1024, 65536],            optional; measured for placeholders
//                "training": true }                                            optional; also forward + backward
//   } ] }
//
// Placeholders in narration (each is checked when the lesson loads, so a typo is an error, not a blank):
//   {n} {d} {heads} ...        the step's experiment                          LessonVocabulary::experiment_values
//   {calc.KEY}                 computed from the experiment by the cost model LessonVocabulary::calc_keys
//   {model.KEY}                the step's model preset at the experiment's N  LessonVocabulary::model_keys
//   {QUANTITY.ALGO}            measured by the step's run, at its last N      LessonVocabulary::quantities
//   {QUANTITY.ALGO.N}          the same at the run's N (one of its "n" values)
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope {

// ---------------------------------------------------------------- narration markup
struct TextSpan {
  std::string text;
  bool bold = false;
  bool code = false;
  bool operator==(const TextSpan&) const = default;
};
using Paragraph = std::vector<TextSpan>;

// Blank lines separate paragraphs; single newlines inside a paragraph become spaces. `**` toggles bold and a
// backquote toggles code (no bold inside code); a marker left open at the end of a paragraph is taken literally.
std::vector<Paragraph> parse_narration(std::string_view markup);

// ---------------------------------------------------------------- placeholders
// "{time.naive}" -> "time.naive"; "{{" and "}}" are literal braces. Names are [a-z0-9_.-]+.
std::vector<std::string> placeholders_in(std::string_view text);

struct FilledText {
  std::string text;
  std::vector<std::string> missing;  // placeholders with no value (left as "{name}" in text)
};
FilledText fill_placeholders(std::string_view text, const std::map<std::string, std::string>& values);

// ---------------------------------------------------------------- the data
enum class HighlightStyle { Outline, Spotlight };

struct LessonRun {
  std::vector<std::string> algorithms;  // timed in this order
  std::vector<int64_t> ns;              // sequence lengths; empty: the step's experiment N only
  bool training = false;                // "training": true — each algorithm (naive or flash) also runs forward +
                                        // backward (Backend::run_backward): the training quantities below
};
// The quantities only a run with "training": true measures (time of training's forward and of the backward, peak
// memory of inference and of training, the saved P or lse, training peak ÷ inference peak).
inline constexpr const char* kTrainingQuantities[] = {"fwd_time", "bwd_time", "infer_peak", "train_peak", "saved",
                                                       "train_ratio"};

struct LessonStep {
  std::string title;
  std::string narration;        // markup with placeholders
  std::string mode;             // an app mode name
  std::string experiment_json;  // a JSON object of experiment keys this step sets; "" sets none
  std::string panel;            // "" : the mode's default
  std::optional<std::array<double, 4>> zoom;  // x0, y0, x1, y1 as fractions of the matrix
  std::optional<double> animation;            // 0..1
  std::string highlight;                      // "" : none
  HighlightStyle highlight_style = HighlightStyle::Outline;
  std::string model;  // a model preset name ("" : none)
  std::optional<LessonRun> run;
  int line = 0;  // the line where this step starts in its file
};

struct Lesson {
  std::string title;
  std::string summary;
  std::vector<LessonStep> steps;
  std::string source;  // file name, for messages
};

// What the app accepts; an empty list accepts anything (core's tests, tools that only read the text).
struct LessonVocabulary {
  std::vector<std::string> modes;
  std::vector<std::string> panels;
  std::vector<std::string> highlights;
  std::vector<std::string> algorithms;
  std::vector<std::string> models;
  std::vector<std::string> quantities = {"time", "bytes", "memory", "flops", "oom", "speedup"};
  std::vector<std::string> experiment_values;
  std::vector<std::string> calc_keys;
  std::vector<std::string> model_keys;
};

struct LessonLoad {
  std::optional<Lesson> lesson;     // set when there are no errors
  std::vector<std::string> errors;  // "SOURCE:LINE: /steps/2/mode: unknown mode 'Flash'; choose ..."
};

// Checks every key and value, and every placeholder against the vocabulary and the step (a measured quantity
// needs a run that times its algorithm at that N; {model.*} needs a model).
LessonLoad parse_lesson(std::string_view text, const std::string& source, const LessonVocabulary& vocabulary = {});

// Reads at most kMaxLessonBytes; a larger, missing or unreadable file is an error naming the path.
inline constexpr std::size_t kMaxLessonBytes = std::size_t{1} << 20;
LessonLoad load_lesson_file(const std::string& path, const LessonVocabulary& vocabulary = {});

}  // namespace attnscope
