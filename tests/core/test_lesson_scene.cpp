// test_lesson_scene.cpp — a lesson step as a scene: the step's state at t = 0, the replay animated to the step's
// position (or swept 0 -> 1), and the scene file it makes reads back equal.
#include <doctest/doctest.h>

#include <string>

#include "core/lesson.hpp"
#include "core/lesson_scene.hpp"

using namespace attnscope;

namespace {

const char* kLesson = R"({
  "title": "t", "summary": "s",
  "steps": [
    {"title": "a", "narration": "x", "mode": "FlashAttention", "experiment": {"n": 512, "mask": "dense"},
     "panel": "tile-stream", "highlight": "tile-stream", "animation": 0.0},
    {"title": "b", "narration": "x", "mode": "FlashAttention", "animation": 0.75, "panel": "online-softmax"},
    {"title": "c", "narration": "x", "mode": "Explore", "zoom": [0, 0, 0.5, 0.5]}
  ]
})";

Lesson lesson() {
  LessonLoad load = parse_lesson(kLesson, "l.json");
  INFO((load.errors.empty() ? std::string() : load.errors[0]));
  REQUIRE(load.lesson);
  return *load.lesson;
}

}  // namespace

TEST_CASE("lesson scene: a step at position 0 sweeps the replay 0 -> 1 with the step's experiment, panel, highlight") {
  LessonSceneOptions o;
  o.duration = 4;
  o.fps = 25;
  o.width = 960;
  o.height = 540;
  const Scene s = scene_from_lesson_step(lesson().steps[0], o);
  CHECK(s.mode == "FlashAttention");
  CHECK(s.panels == std::vector<std::string>{"tile-stream"});
  CHECK(s.experiment_json.find("\"n\":512") != std::string::npos);
  CHECK(s.width == 960);
  CHECK(s.height == 540);
  CHECK(scene_frame_count(s) == 101);
  CHECK(*scene_state_at(s, 0).animation == doctest::Approx(0.0));
  CHECK(*scene_state_at(s, 2).animation == doctest::Approx(0.5));
  CHECK(*scene_state_at(s, 4).animation == doctest::Approx(1.0));
  CHECK(scene_state_at(s, 3).highlight == "tile-stream");

  // The file it makes reads back to the same scene.
  SceneLoad back = parse_scene(scene_to_json(s), "from-lesson.json");
  REQUIRE(back.scene);
  CHECK(*back.scene == s);
}

TEST_CASE("lesson scene: the replay ends at the step's position; --sweep goes to 1; a still step holds") {
  const Lesson l = lesson();
  const Scene to_step = scene_from_lesson_step(l.steps[1]);
  CHECK(*scene_state_at(to_step, to_step.duration).animation == doctest::Approx(0.75));
  CHECK(*scene_state_at(to_step, to_step.duration / 2).animation == doctest::Approx(0.375));
  CHECK(to_step.experiment_json.empty());  // the step sets none: the app's current experiment

  LessonSceneOptions sweep;
  sweep.sweep = true;
  const Scene swept = scene_from_lesson_step(l.steps[1], sweep);
  CHECK(*scene_state_at(swept, swept.duration).animation == doctest::Approx(1.0));

  const Scene still = scene_from_lesson_step(l.steps[2]);
  CHECK(still.keyframes.size() == 1);
  CHECK_FALSE(scene_state_at(still, 1).animation);
  REQUIRE(scene_state_at(still, 1).zoom);
  CHECK((*scene_state_at(still, 1).zoom)[2] == doctest::Approx(0.5));

  LessonSceneOptions silly;  // out-of-range options are clamped, never an invalid scene
  silly.duration = 1e9;
  silly.fps = 0;
  silly.width = 1;
  const Scene clamped = scene_from_lesson_step(l.steps[0], silly);
  CHECK(parse_scene(scene_to_json(clamped), "clamped.json").scene.has_value());
}
