// lesson.cpp — narration markup, placeholders and the lesson file reader (see lesson.hpp for the file form).
#include "core/lesson.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/json_check.hpp"
#include "core/spec.hpp"

namespace attnscope {
namespace {

using nlohmann::json;
using Checker = JsonChecker;

std::vector<std::string> split_paragraphs(std::string_view markup) {
  std::vector<std::string> out;
  std::string current;
  bool blank_run = false;
  std::size_t start = 0;
  while (start <= markup.size()) {
    std::size_t end = markup.find('\n', start);
    if (end == std::string_view::npos) end = markup.size();
    std::string_view line = markup.substr(start, end - start);
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (blank) {
      blank_run = true;
    } else {
      if (blank_run && !current.empty()) {
        out.push_back(current);
        current.clear();
      }
      blank_run = false;
      if (!current.empty()) current.push_back(' ');
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      current.append(line);
    }
    start = end + 1;
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

Paragraph parse_paragraph(std::string_view text) {
  // Find marker pairs first, so an unmatched marker stays literal.
  Paragraph spans;
  bool bold = false;
  std::string run;
  auto flush = [&](bool code) {
    if (!run.empty()) spans.push_back({run, bold && !code, code});
    run.clear();
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '`') {
      const std::size_t close = text.find('`', i + 1);
      if (close != std::string_view::npos) {
        flush(false);
        run = std::string(text.substr(i + 1, close - i - 1));
        flush(true);
        i = close + 1;
        continue;
      }
    }
    if (text.compare(i, 2, "**") == 0) {
      const bool closes = bold;
      const bool opens = !bold && text.find("**", i + 2) != std::string_view::npos;
      if (closes || opens) {
        flush(false);
        bold = !bold;
        i += 2;
        continue;
      }
    }
    run.push_back(text[i]);
    ++i;
  }
  flush(false);
  return spans;
}

bool placeholder_char(char c) {
  return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
         c == '.' || c == '-';
}

// Calls fn(name, begin, end) for each placeholder, literal(text) for the text between them.
template <typename OnName, typename OnText>
void scan_placeholders(std::string_view text, OnName on_name, OnText on_text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") == 0 || text.compare(i, 2, "}}") == 0) {
      on_text(text.substr(i, 1));
      i += 2;
      continue;
    }
    if (text[i] == '{') {
      std::size_t j = i + 1;
      while (j < text.size() && placeholder_char(text[j])) ++j;
      if (j < text.size() && text[j] == '}' && j > i + 1) {
        on_name(text.substr(i + 1, j - i - 1));
        i = j + 1;
        continue;
      }
    }
    on_text(text.substr(i, 1));
    ++i;
  }
}

void check_placeholders(Checker& c, const LessonStep& step, const std::string& pointer,
                        const LessonVocabulary& vocabulary) {
  const std::string at = pointer + "/narration";
  for (const std::string& name : placeholders_in(step.narration)) {
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      const std::size_t dot = name.find('.', start);
      parts.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    const std::string where = "placeholder {" + name + "}: ";
    if (parts.size() == 1) {
      if (!one_of(vocabulary.experiment_values, name))
        c.error(at, where + "unknown name; experiment values are " + join_words(vocabulary.experiment_values));
    } else if (parts[0] == "calc") {
      if (parts.size() != 2 || !one_of(vocabulary.calc_keys, parts[1]))
        c.error(at, where + "unknown calculation; choose calc." + join_words(vocabulary.calc_keys));
    } else if (parts[0] == "model") {
      if (parts.size() != 2 || !one_of(vocabulary.model_keys, parts[1]))
        c.error(at, where + "unknown model value; choose model." + join_words(vocabulary.model_keys));
      else if (step.model.empty())
        c.error(at, where + "needs a model preset, but the step has no 'model'");
    } else if (!one_of(vocabulary.quantities, parts[0])) {
      c.error(at, where + "unknown quantity '" + parts[0] + "'; choose " + join_words(vocabulary.quantities) +
                      ", calc or model");
    } else if (parts.size() > 3) {
      c.error(at, where + "too many parts; write {quantity.algorithm} or {quantity.algorithm.N}");
    } else if (!step.run) {
      c.error(at, where + "needs a measured run, but the step has no 'run'");
    } else if (!step.run->training && std::any_of(std::begin(kTrainingQuantities), std::end(kTrainingQuantities),
                                                  [&](const char* q) { return parts[0] == q; })) {
      c.error(at, where + "a training quantity needs a run with \"training\": true");
    } else if (std::find(step.run->algorithms.begin(), step.run->algorithms.end(), parts[1]) ==
               step.run->algorithms.end()) {
      c.error(at, where + "the step's run does not time '" + parts[1] + "' (it times " +
                      join_words(step.run->algorithms) + ")");
    } else if (parts.size() == 3) {
      const std::string& n = parts[2];
      const bool listed = std::any_of(step.run->ns.begin(), step.run->ns.end(),
                                      [&](int64_t x) { return std::to_string(x) == n; });
      if (!listed) c.error(at, where + "N = " + n + " is not one of the run's sequence lengths");
    }
  }
}

std::optional<LessonRun> parse_run(Checker& c, const json& v, const std::string& p,
                                   const LessonVocabulary& vocabulary) {
  if (!v.is_object()) {
    c.error(p, "must be an object with 'algorithms' (and optionally 'n'), not " + json_type_word(v));
    return std::nullopt;
  }
  c.only_keys(v, p, {"algorithms", "n", "training"});
  LessonRun run;
  if (v.contains("training")) {
    if (!v.at("training").is_boolean()) c.error(p + "/training", "must be true or false, not " + json_type_word(v.at("training")));
    else run.training = v.at("training").get<bool>();
  }
  const json* algos = v.contains("algorithms") ? &v.at("algorithms") : nullptr;
  if (!algos || !algos->is_array() || algos->empty()) {
    c.error(algos ? p + "/algorithms" : p, "'algorithms' must be a non-empty list of algorithm names");
  } else {
    for (std::size_t i = 0; i < algos->size(); ++i) {
      const json& a = (*algos)[i];
      const std::string ap = p + "/algorithms/" + std::to_string(i);
      if (!a.is_string()) {
        c.error(ap, "must be an algorithm name, not " + json_type_word(a));
      } else if (!one_of(vocabulary.algorithms, a.get<std::string>())) {
        c.error(ap, "unknown algorithm '" + a.get<std::string>() + "'; choose " + join_words(vocabulary.algorithms));
      } else {
        if (run.training && a.get<std::string>() != "naive" && a.get<std::string>() != "flash")
          c.error(ap, "a training run takes naive or flash, not '" + a.get<std::string>() + "'");
        run.algorithms.push_back(a.get<std::string>());
      }
    }
  }
  if (v.contains("n")) {
    const json& ns = v.at("n");
    const std::string np = p + "/n";
    if (!ns.is_array() || ns.empty()) {
      c.error(np, "must be a non-empty list of sequence lengths");
    } else {
      for (std::size_t i = 0; i < ns.size(); ++i) {
        if (auto n = c.integer(ns[i], np + "/" + std::to_string(i), 1, int64_t{1} << 24)) run.ns.push_back(*n);
      }
    }
  }
  return run;
}

std::optional<LessonStep> parse_step(Checker& c, const json& s, const std::string& p,
                                     const LessonVocabulary& vocabulary) {
  if (!s.is_object()) {
    c.error(p, "a step must be an object, not " + json_type_word(s));
    return std::nullopt;
  }
  const std::size_t errors_before = c.errors.size();
  c.only_keys(s, p, {"title", "narration", "mode", "experiment", "panel", "zoom", "animation", "highlight",
                     "highlight_style", "model", "run"});
  LessonStep step;
  step.line = c.line(p);
  step.title = c.text(s, p, "title", true).value_or("");
  if (!s.contains("narration")) {
    c.error(p, "'narration' is missing");
  } else {
    const json& n = s.at("narration");
    if (n.is_string()) {
      step.narration = n.get<std::string>();
    } else if (n.is_array() && !n.empty() && std::all_of(n.begin(), n.end(), [](const json& x) { return x.is_string(); })) {
      for (const auto& para : n) step.narration += (step.narration.empty() ? "" : "\n\n") + para.get<std::string>();
    } else {
      c.error(p + "/narration", "must be text or a list of paragraphs (text), not " + json_type_word(n));
    }
    if (n.is_string() && step.narration.find_first_not_of(" \t\r\n") == std::string::npos)
      c.error(p + "/narration", "is empty");
  }
  if (auto mode = c.text(s, p, "mode", true)) {
    if (!one_of(vocabulary.modes, *mode)) c.error(p + "/mode", "unknown mode '" + *mode + "'; choose " + join_words(vocabulary.modes));
    step.mode = *mode;
  }
  if (s.contains("experiment")) {
    const json& e = s.at("experiment");
    if (!e.is_object()) c.error(p + "/experiment", "must be an object of experiment settings, not " + json_type_word(e));
    else step.experiment_json = e.dump();
  }
  if (auto panel = c.text(s, p, "panel", false)) {
    if (!one_of(vocabulary.panels, *panel)) c.error(p + "/panel", "unknown panel '" + *panel + "'; choose " + join_words(vocabulary.panels));
    step.panel = *panel;
  }
  if (s.contains("zoom")) step.zoom = c.zoom_window(s.at("zoom"), p + "/zoom");
  if (s.contains("animation")) step.animation = c.fraction(s.at("animation"), p + "/animation");
  if (auto h = c.text(s, p, "highlight", false)) {
    if (!one_of(vocabulary.highlights, *h)) c.error(p + "/highlight", "unknown element '" + *h + "'; choose " + join_words(vocabulary.highlights));
    step.highlight = *h;
  }
  if (auto style = c.text(s, p, "highlight_style", false)) {
    if (*style == "outline") step.highlight_style = HighlightStyle::Outline;
    else if (*style == "spotlight") step.highlight_style = HighlightStyle::Spotlight;
    else c.error(p + "/highlight_style", quote_input(*style) + ": choose outline or spotlight");
    if (step.highlight.empty()) c.error(p + "/highlight_style", "is set but 'highlight' names no element");
  }
  if (auto model = c.text(s, p, "model", false)) {
    if (!one_of(vocabulary.models, *model))
      c.error(p + "/model", "unknown model preset '" + *model + "'; choose " + join_words(vocabulary.models));
    step.model = *model;
  }
  if (s.contains("run")) step.run = parse_run(c, s.at("run"), p + "/run", vocabulary);
  check_placeholders(c, step, p, vocabulary);
  if (c.errors.size() != errors_before) return std::nullopt;
  return step;
}

}  // namespace

std::vector<Paragraph> parse_narration(std::string_view markup) {
  std::vector<Paragraph> out;
  for (const std::string& para : split_paragraphs(markup)) out.push_back(parse_paragraph(para));
  return out;
}

std::vector<std::string> placeholders_in(std::string_view text) {
  std::vector<std::string> names;
  scan_placeholders(text, [&](std::string_view name) { names.emplace_back(name); }, [](std::string_view) {});
  return names;
}

FilledText fill_placeholders(std::string_view text, const std::map<std::string, std::string>& values) {
  FilledText out;
  scan_placeholders(
      text,
      [&](std::string_view name) {
        auto it = values.find(std::string(name));
        if (it != values.end()) {
          out.text += it->second;
        } else {
          out.text += "{" + std::string(name) + "}";
          out.missing.emplace_back(name);
        }
      },
      [&](std::string_view literal) { out.text.append(literal); });
  return out;
}

LessonLoad parse_lesson(std::string_view text, const std::string& source, const LessonVocabulary& vocabulary) {
  LessonLoad out;
  std::optional<json> parsed = parse_json_text(text, source, out.errors);
  if (!parsed) return out;
  const json& root = *parsed;
  const JsonLines lines(text);
  Checker c(source, lines);
  if (!root.is_object()) {
    c.error("", "a lesson must be an object with 'title' and 'steps', not " + json_type_word(root));
    out.errors = c.errors;
    return out;
  }
  c.only_keys(root, "", {"title", "summary", "steps"});
  Lesson lesson;
  lesson.source = source;
  lesson.title = c.text(root, "", "title", true).value_or("");
  lesson.summary = c.text(root, "", "summary", false).value_or("");
  if (!root.contains("steps")) {
    c.error("", "'steps' is missing");
  } else if (!root.at("steps").is_array() || root.at("steps").empty()) {
    c.error("/steps", "must be a non-empty list of steps");
  } else {
    const json& steps = root.at("steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (auto step = parse_step(c, steps[i], "/steps/" + std::to_string(i), vocabulary))
        lesson.steps.push_back(std::move(*step));
    }
  }
  out.errors = std::move(c.errors);
  if (out.errors.empty()) out.lesson = std::move(lesson);
  return out;
}

LessonLoad load_lesson_file(const std::string& path, const LessonVocabulary& vocabulary) {
  LessonLoad out;
  std::string text;
  if (!read_bounded_file(path, kMaxLessonBytes, "lesson", text, out.errors)) return out;
  return parse_lesson(text, path, vocabulary);
}

}  // namespace attnscope
