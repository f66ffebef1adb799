// test_json_duplicates.cpp — a key given twice in one object of a config, scene, lesson or settings file is refused
// with the line it is given again on and the line it was first given on (nlohmann-json alone keeps the last silently).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "core/json_lines.hpp"
#include "core/lesson.hpp"
#include "core/scene.hpp"
#include "core/settings.hpp"

using namespace attnscope;

namespace {
bool has(const std::vector<std::string>& errors, const std::string& text) {
  for (const std::string& e : errors)
    if (e.find(text) != std::string::npos) return true;
  return false;
}
std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += e + "\n";
  return out;
}
}  // namespace

TEST_CASE("json duplicates: the scanner finds every repeated key with both lines, nested objects too") {
  const JsonLines lines("{\n \"a\": 1,\n \"b\": {\"x\": 1,\n  \"x\": 2},\n \"a\": 3,\n \"list\": [{\"k\": 1, \"k\": 2}]\n}");
  const std::vector<DuplicateKey>& d = lines.duplicates();
  REQUIRE(d.size() == 3);
  CHECK(d[0].object == "/b");
  CHECK(d[0].key == "x");
  CHECK(d[0].line == 4);
  CHECK(d[0].first_line == 3);
  CHECK(d[1].object == "");
  CHECK(d[1].key == "a");
  CHECK(d[1].line == 5);
  CHECK(d[1].first_line == 2);
  CHECK(d[2].object == "/list/0");
  CHECK(d[2].line == 6);
  const std::vector<std::string> errors = lines.duplicate_errors("f.json");
  CHECK(errors[0] == "f.json:4: key \"x\" in /b is given twice (first on line 3); keep one");
  CHECK(errors[1] == "f.json:5: key \"a\" is given twice (first on line 2); keep one");
  // The same key in two different objects is not a repeat.
  CHECK(JsonLines(R"({"a": {"k": 1}, "b": {"k": 1}})").duplicates().empty());
}

TEST_CASE("json duplicates: config, scene, lesson and settings files each refuse a repeated key by line") {
  const ConfigResult config = from_json("{\"n\": 64,\n\"mask\": \"dense\",\n\"n\": 128}", "c.json");
  CHECK_FALSE(config.ok);
  CHECK_MESSAGE(has(config.errors, "c.json:3: key \"n\" is given twice (first on line 1); keep one"), joined(config.errors));

  const SceneLoad scene = parse_scene("{\"mode\": \"Explore\",\n \"keyframes\": [{\"t\": 0,\n \"t\": 1}]}", "s.json");
  CHECK_FALSE(scene.scene);
  CHECK_MESSAGE(has(scene.errors, "s.json:3: key \"t\" in /keyframes/0 is given twice (first on line 2); keep one"),
                joined(scene.errors));

  const LessonLoad lesson = parse_lesson("{\"title\": \"A\",\n\"title\": \"B\",\n\"steps\": []}", "l.json");
  CHECK_FALSE(lesson.lesson);
  CHECK_MESSAGE(has(lesson.errors, "l.json:2: key \"title\" is given twice (first on line 1); keep one"),
                joined(lesson.errors));

  const SettingsLoad settings = parse_settings("{\"theme\": \"dark\",\n\n\"theme\": \"light\"}", "settings.json");
  CHECK_MESSAGE(has(settings.errors, "settings.json:3: key \"theme\" is given twice (first on line 1); keep one"),
                joined(settings.errors));
  CHECK(settings.settings.theme == Settings{}.theme);  // the defaults, not a guess at which one was meant
}
