// fuzz_json_files.cpp — libFuzzer target: any text as a lesson, a scene, a settings and an experiment config file. Each reader must
// return data or errors that name the file and a line, never crash or hang; what a reader accepts must survive
// its own writer (scenes, settings and configs round-trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/experiment.hpp"
#include "core/json_lines.hpp"
#include "core/lesson.hpp"
#include "core/scene.hpp"
#include "core/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  attnscope::JsonLines lines(text);
  (void)lines.line_of("/steps/0/mode");

  attnscope::LessonLoad lesson = attnscope::parse_lesson(text, "f.json");
  if (!lesson.lesson && lesson.errors.empty()) std::abort();  // a refusal always says why
  if (lesson.lesson)
    for (const auto& step : lesson.lesson->steps) (void)attnscope::parse_narration(step.narration);

  attnscope::SceneLoad scene = attnscope::parse_scene(text, "f.json");
  if (!scene.scene && scene.errors.empty()) std::abort();
  if (scene.scene) {
    attnscope::SceneLoad back = attnscope::parse_scene(attnscope::scene_to_json(*scene.scene), "back.json");
    if (!back.scene || !(*back.scene == *scene.scene)) std::abort();
    (void)attnscope::scene_state_at(*scene.scene, scene.scene->duration / 2);
  }

  attnscope::SettingsLoad settings = attnscope::parse_settings(text, "f.json");
  attnscope::SettingsLoad again = attnscope::parse_settings(attnscope::settings_to_json(settings.settings), "b.json");
  if (!again.errors.empty() || !(again.settings == settings.settings)) std::abort();

  // A config: numbers out of range (1e400, 2^64) are errors, never exceptions; what is accepted round-trips.
  attnscope::ConfigResult config = attnscope::from_json(text, "f.json");
  if (!config.ok && config.errors.empty()) std::abort();
  if (config.ok) {
    attnscope::ConfigResult back = attnscope::from_json(attnscope::to_json(config.config), "back.json");
    if (!back.ok || !(back.config == config.config)) std::abort();
  }
  return 0;
}
