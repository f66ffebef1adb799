// lesson_scene.hpp — a lesson step as a scene (core/scene.hpp): the step's experiment, mode, panel, zoom and
// highlight, and its replay animated over a duration, so `attnscope render --scene` can record any step of a lesson.
// No UI here; `attnscope scene --from-lesson FILE --step K` writes the result.
#pragma once
#include <string>

#include "core/lesson.hpp"
#include "core/scene.hpp"

namespace attnscope {

struct LessonSceneOptions {
  double duration = 4.0;  // seconds of video, 0..600
  double fps = 30;        // 1..120
  int width = 1280, height = 720;
  // The replay sweeps 0 -> 1 over the duration. Without it: 0 -> the step's position when the step sets one
  // above 0, else 0 -> 1; a step that sets no animation (Explore, Sparsity) is held still for the duration.
  bool sweep = false;
};

// The step's state at t = 0 (zoom, highlight, animation start) and, when it animates, a second keyframe at
// `duration` with the animation's end. Options out of range are clamped to the limits above.
Scene scene_from_lesson_step(const LessonStep& step, const LessonSceneOptions& options = {});

}  // namespace attnscope
