// test_lesson.cpp — lesson files: narration markup, placeholders, and errors that name the file, line and key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/common/test_util.hpp"
#include "core/json_lines.hpp"
#include "core/lesson.hpp"
#include "core/lesson_values.hpp"

using namespace attnscope;
using attnscope::test::any_contains;

namespace {

const char* kGoodLesson = R"({
  "title": "Every token against every token",
  "summary": "The N×N matrix",
  "steps": [
    {
      "title": "One row",
      "narration": ["Each query meets **every** key.", "The matrix has `N²` cells."],
      "mode": "Explore",
      "experiment": {"n": 64, "mask": "dense"},
      "zoom": [0, 0, 0.5, 0.5],
      "highlight": "heatmap",
      "highlight_style": "spotlight"
    },
    {
      "title": "Measured",
      "narration": "Naive took {time.naive}; flash took {time.flash.256} at N = {n}; {calc.pairs} pairs; {model.layers} layers.",
      "mode": "FlashAttention",
      "model": "llama2-7b",
      "animation": 0.25,
      "run": {"algorithms": ["naive", "flash"], "n": [256, 1024]}
    }
  ]
})";

}  // namespace

TEST_CASE("JSON lines: each value's line by pointer, ancestors for absent keys, offsets to lines") {
  const std::string text = "{\n  \"a\": 1,\n  \"b\": [\n    {\"c\": true},\n    \"x/y\"\n  ],\n  \"d~/e\": null\n}";
  JsonLines lines(text);
  CHECK(lines.line_of("") == 1);
  CHECK(lines.line_of("/a") == 2);
  CHECK(lines.line_of("/b") == 3);
  CHECK(lines.line_of("/b/0") == 4);
  CHECK(lines.line_of("/b/0/c") == 4);
  CHECK(lines.line_of("/b/1") == 5);
  CHECK(lines.line_of("/d~0~1e") == 7);
  CHECK(lines.line_of("/b/0/missing") == 4);  // nearest ancestor
  CHECK(line_of_offset(text, 1) == 1);
  CHECK(line_of_offset(text, text.find("\"b\"") + 1) == 3);
  // A syntax error keeps what was indexed before it; hostile nesting stops the index, never the program.
  JsonLines broken("{\n \"a\": 1,\n \"b\": [1, 2,,]}");
  CHECK(broken.line_of("/a") == 2);
  JsonLines deep(std::string(100000, '[') + std::string(100000, ']'));
  CHECK(deep.line_of("/0/0") == 1);
}

TEST_CASE("narration: paragraphs, bold and code, unmatched markers stay literal") {
  auto paras = parse_narration("First line\ncontinues **bold** and `x*y`.\n\n\nSecond ** open and ` open");
  REQUIRE(paras.size() == 2);
  const Paragraph& p = paras[0];
  REQUIRE(p.size() == 5);
  CHECK(p[0] == TextSpan{"First line continues ", false, false});
  CHECK(p[1] == TextSpan{"bold", true, false});
  CHECK(p[2] == TextSpan{" and ", false, false});
  CHECK(p[3] == TextSpan{"x*y", false, true});
  CHECK(p[4] == TextSpan{".", false, false});
  REQUIRE(paras[1].size() == 1);
  CHECK(paras[1][0].text == "Second ** open and ` open");
  CHECK(parse_narration("  \n \n").empty());
  // Math symbols pass through untouched.
  CHECK(parse_narration("O(N²) · √d ≤ ∞")[0][0].text == "O(N²) · √d ≤ ∞");
}

TEST_CASE("placeholders: found, filled, missing ones reported and kept, braces escaped") {
  const std::string text = "t = {time.naive}, {{literal}}, {bytes.flash}, {not a name}, {n}";
  auto names = placeholders_in(text);
  REQUIRE(names.size() == 3);
  CHECK(names[0] == "time.naive");
  CHECK(names[1] == "bytes.flash");
  CHECK(names[2] == "n");
  FilledText filled = fill_placeholders(text, {{"time.naive", "12.5 ms"}, {"n", "4096"}});
  CHECK(filled.text == "t = 12.5 ms, {literal}, {bytes.flash}, {not a name}, 4096");
  REQUIRE(filled.missing.size() == 1);
  CHECK(filled.missing[0] == "bytes.flash");
}

TEST_CASE("a good lesson loads with every field") {
  LessonVocabulary vocab;
  vocab.modes = {"Explore", "FlashAttention"};
  vocab.highlights = {"heatmap"};
  vocab.algorithms = {"naive", "flash"};
  vocab.models = {"llama2-7b"};
  vocab.experiment_values = {"n"};
  vocab.calc_keys = {"pairs"};
  vocab.model_keys = {"layers"};
  LessonLoad load = parse_lesson(kGoodLesson, "good.json", vocab);
  INFO((load.errors.empty() ? std::string() : load.errors[0]));
  REQUIRE(load.lesson);
  const Lesson& lesson = *load.lesson;
  CHECK(lesson.title == "Every token against every token");
  REQUIRE(lesson.steps.size() == 2);
  const LessonStep& a = lesson.steps[0];
  CHECK(a.line == 5);
  CHECK(a.narration == "Each query meets **every** key.\n\nThe matrix has `N²` cells.");
  CHECK(a.experiment_json.find("\"n\":64") != std::string::npos);
  REQUIRE(a.zoom);
  CHECK((*a.zoom)[2] == doctest::Approx(0.5));
  CHECK(a.highlight_style == HighlightStyle::Spotlight);
  CHECK_FALSE(a.run);
  const LessonStep& b = lesson.steps[1];
  CHECK(b.line == 14);
  CHECK(b.model == "llama2-7b");
  REQUIRE(b.run);
  CHECK(b.run->algorithms == std::vector<std::string>{"naive", "flash"});
  CHECK(b.run->ns == std::vector<int64_t>{256, 1024});
  CHECK(*b.animation == doctest::Approx(0.25));
}

TEST_CASE("a broken lesson is reported by file, line and key; every problem at once") {
  LessonVocabulary vocab;
  vocab.modes = {"Explore", "FlashAttention"};
  vocab.algorithms = {"naive", "flash"};
  vocab.models = {"llama2-7b"};
  vocab.experiment_values = {"n", "d"};
  vocab.calc_keys = {"pairs"};
  vocab.model_keys = {"layers"};
  const char* text = R"({
  "title": "Broken",
  "stepz": 1,
  "steps": [
    {"title": "a", "narration": "uses {time.flash}", "mode": "Flash",
     "run": {"algorithms": ["naive", "magic"]}},
    {"narration": "", "mode": "Explore", "zoom": [0.5, 0, 0.2, 2], "animation": 3},
    {"title": "c", "narration": "{time.naive} {speed.naive}", "mode": "Explore"},
    {"title": "d", "narration": "{time.naive.512} {time.naive.64.1} {calc.nope} {model.layers} {colour}",
     "mode": "Explore", "model": "gpt-9", "run": {"algorithms": ["naive"], "n": [64]}}
  ]
})";
  LessonLoad load = parse_lesson(text, "broken.json", vocab);
  CHECK_FALSE(load.lesson);
  const auto& e = load.errors;
  CHECK(any_contains(e, "broken.json:3: /stepz: unknown key 'stepz'"));
  CHECK(any_contains(e, "broken.json:5: /steps/0/mode: unknown mode 'Flash'; choose Explore, FlashAttention"));
  CHECK(any_contains(e, "broken.json:6: /steps/0/run/algorithms/1: unknown algorithm 'magic'"));
  CHECK(any_contains(e, "broken.json:5: /steps/0/narration: placeholder {time.flash}: the step's run does not time 'flash'"));
  CHECK(any_contains(e, "broken.json:7: /steps/1: 'title' is missing"));
  CHECK(any_contains(e, "broken.json:7: /steps/1/narration: is empty"));
  CHECK(any_contains(e, "/steps/1/zoom/3: must be from 0 to 1, not 2"));
  CHECK(any_contains(e, "/steps/1/animation: must be from 0 to 1, not 3"));
  CHECK(any_contains(e, "broken.json:8: /steps/2/narration: placeholder {time.naive}: needs a measured run"));
  CHECK(any_contains(e, "placeholder {speed.naive}: unknown quantity 'speed'"));
  CHECK(any_contains(e, "broken.json:9: /steps/3/narration: placeholder {time.naive.512}: N = 512 is not one of the run's"));
  CHECK(any_contains(e, "placeholder {time.naive.64.1}: too many parts"));
  CHECK(any_contains(e, "placeholder {calc.nope}: unknown calculation; choose calc.pairs"));
  CHECK(any_contains(e, "placeholder {colour}: unknown name; experiment values are n, d"));
  CHECK(any_contains(e, "broken.json:10: /steps/3/model: unknown model preset 'gpt-9'; choose llama2-7b"));
}

TEST_CASE("lesson files: syntax errors by line, bad numbers, folders, missing and oversized files") {
  LessonLoad syntax = parse_lesson("{\n  \"title\": \"x\",\n  \"steps\": [\n    {\"title\": }\n  ]\n}", "s.json");
  REQUIRE(syntax.errors.size() == 1);
  CHECK(syntax.errors[0].rfind("s.json:4: not valid JSON", 0) == 0);
  LessonLoad huge = parse_lesson(R"({"title": "x", "steps": [{"title": "a", "narration": "b", "mode": "m",
                                    "run": {"algorithms": ["naive"], "n": [1e400]}}]})", "h.json");
  CHECK_FALSE(huge.lesson);
  CHECK(huge.errors.size() == 1);
  CHECK(parse_lesson("[1, 2]", "a.json").errors.at(0) == "a.json:1: (top level): a lesson must be an object with 'title' and 'steps', not a list");

  const auto dir = std::filesystem::temp_directory_path() / "attnscope_lesson_test";
  std::filesystem::create_directories(dir);
  CHECK(any_contains(load_lesson_file(dir.string()).errors, "is a folder"));
  CHECK(any_contains(load_lesson_file((dir / "absent.json").string()).errors, "cannot open"));
  const auto big = dir / "big.json";
  {
    std::ofstream f(big);
    f << "{\"title\": \"" << std::string(kMaxLessonBytes, 'x') << "\"}";
  }
  CHECK(any_contains(load_lesson_file(big.string()).errors, "a lesson file is at most 1 MiB"));
  const auto good = dir / "good.json";
  {
    std::ofstream f(good);
    f << kGoodLesson;
  }
  CHECK(load_lesson_file(good.string()).lesson);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a training run: \"training\": true is read, takes naive or flash only, and training quantities need it") {
  auto lesson = [](const std::string& run, const std::string& narration) {
    return std::string(R"({"title": "t", "summary": "s", "steps": [{"title": "a", "mode": "Training", "run": )") + run +
           R"(, "narration": ")" + narration + R"("}]})";
  };
  LessonVocabulary vocab = core_lesson_vocabulary();
  const LessonLoad good = parse_lesson(
      lesson(R"({"algorithms": ["naive", "flash"], "n": [256, 512], "training": true})",
             "{saved.naive.256} {train_ratio.flash} {bwd_time.naive} {time.flash}"),
      "train.json", vocab);
  INFO((good.errors.empty() ? std::string() : good.errors[0]));
  REQUIRE(good.lesson);
  CHECK(good.lesson->steps[0].run->training);

  const LessonLoad untrained =
      parse_lesson(lesson(R"({"algorithms": ["naive"]})", "{train_peak.naive}"), "untrained.json", vocab);
  REQUIRE(untrained.errors.size() == 1);
  CHECK(untrained.errors[0].find("needs a run with \"training\": true") != std::string::npos);

  const LessonLoad sparse = parse_lesson(
      lesson(R"({"algorithms": ["block-sparse"], "training": true})", "x"), "sparse.json", vocab);
  REQUIRE(sparse.errors.size() == 1);
  CHECK(sparse.errors[0].find("a training run takes naive or flash") != std::string::npos);

  const LessonLoad not_bool =
      parse_lesson(lesson(R"({"algorithms": ["naive"], "training": "yes"})", "x"), "bool.json", vocab);
  REQUIRE(not_bool.errors.size() == 1);
  CHECK(not_bool.errors[0].find("/training") != std::string::npos);
}
