// scene.hpp — a scripted recording: an experiment, the mode and panels on screen, the picture size, and a timeline
// of keyframes (replay position, N, mask, highlight, zoom). `attnscope render --scene FILE` draws it frame by
// frame on a fixed time step, so the same scene gives the same frames whatever the machine's frame rate. No UI
// here: the app applies the state that scene_state_at returns.
//
// File form (unknown keys are errors):
//   { "experiment": { "n": 1024, ... },        optional; ExperimentConfig keys
//     "mode": "FlashAttention",                required
//     "panels": ["tile-stream", "gantt"],      optional
//     "size": [1280, 720],                     optional (default 1280×720)
//     "fps": 30,                               optional (default 30; 1..120)
//     "duration": 4.0,                         optional, seconds (default: the last keyframe's time)
//     "keyframes": [ { "t": 0, "animation": 0, "zoom": [0, 0, 1, 1], "n": 1024, "mask": "causal",
//                      "highlight": "tile-stream" }, ... ] }
// animation and zoom are interpolated linearly between the keyframes that set them; n, mask and highlight hold
// from the keyframe that sets them until the next one that does.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope {

struct SceneKeyframe {
  double t = 0;  // seconds from the start
  std::optional<double> animation;            // replay position 0..1
  std::optional<std::array<double, 4>> zoom;  // x0, y0, x1, y1 as fractions of the matrix
  std::optional<int64_t> n;
  std::optional<std::string> mask;
  std::optional<std::string> highlight;  // "" clears it
  bool operator==(const SceneKeyframe&) const = default;
};

struct Scene {
  std::string experiment_json;  // "" : the app's current experiment
  std::string mode;
  std::vector<std::string> panels;
  int width = 1280, height = 720;
  double fps = 30;
  double duration = 0;                  // seconds
  std::vector<SceneKeyframe> keyframes;  // sorted by t
  bool operator==(const Scene&) const = default;
};

// What a frame shows; unset fields leave the app's state as it is.
struct SceneState {
  std::optional<double> animation;
  std::optional<std::array<double, 4>> zoom;
  std::optional<int64_t> n;
  std::optional<std::string> mask;
  std::string highlight;
};

// Frames are drawn at t = i / fps for i = 0 … frame_count - 1, both ends included:
// frame_count = round(duration · fps) + 1.
int64_t scene_frame_count(const Scene& scene);
SceneState scene_state_at(const Scene& scene, double t);

struct SceneVocabulary {  // an empty list accepts anything
  std::vector<std::string> modes, panels, highlights;
};
struct SceneLoad {
  std::optional<Scene> scene;
  std::vector<std::string> errors;  // "SOURCE:LINE: /keyframes/2/t: ..."
};
inline constexpr std::size_t kMaxSceneBytes = std::size_t{4} << 20;
SceneLoad parse_scene(std::string_view text, const std::string& source, const SceneVocabulary& vocabulary = {});
SceneLoad load_scene_file(const std::string& path, const SceneVocabulary& vocabulary = {});
// Pretty-printed JSON that parse_scene reads back to an equal Scene.
std::string scene_to_json(const Scene& scene);

}  // namespace attnscope
