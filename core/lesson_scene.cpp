// lesson_scene.cpp — a lesson step as a scene (see lesson_scene.hpp).
#include "core/lesson_scene.hpp"

#include <algorithm>

namespace attnscope {

Scene scene_from_lesson_step(const LessonStep& step, const LessonSceneOptions& options) {
  Scene scene;
  scene.experiment_json = step.experiment_json;
  scene.mode = step.mode;
  if (!step.panel.empty()) scene.panels = {step.panel};
  scene.width = std::clamp(options.width, 16, 7680);
  scene.height = std::clamp(options.height, 16, 4320);
  scene.fps = std::clamp(options.fps, 1.0, 120.0);
  scene.duration = std::clamp(options.duration, 0.0, 600.0);

  SceneKeyframe start;
  start.t = 0;
  start.zoom = step.zoom;
  if (!step.highlight.empty()) start.highlight = step.highlight;
  const bool animates = options.sweep || step.animation.has_value();
  double end_position = 1.0;
  if (!options.sweep && step.animation && *step.animation > 0) end_position = *step.animation;
  if (animates) start.animation = 0.0;
  scene.keyframes.push_back(start);
  if (animates && scene.duration > 0) {
    SceneKeyframe end;
    end.t = scene.duration;
    end.animation = end_position;
    scene.keyframes.push_back(end);
  }
  return scene;
}

}  // namespace attnscope
