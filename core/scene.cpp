// scene.cpp — scene files (see scene.hpp): reading with file/line errors, writing, and the state at a time.
#include "core/scene.hpp"

#include <algorithm>
#include <cmath>

#include "core/json_check.hpp"

namespace attnscope {
namespace {

using nlohmann::json;

constexpr double kMaxDuration = 600;  // seconds: ten minutes of video is already 18,000 frames at 30 fps
constexpr std::size_t kMaxKeyframes = 10000;

double lerp(double a, double b, double f) { return a + (b - a) * f; }

// Interpolates the field `get` (optional<T>) at time t from the keyframes that set it.
template <typename T, typename Get, typename Mix>
std::optional<T> interpolate(const std::vector<SceneKeyframe>& keys, double t, Get get, Mix mix) {
  const SceneKeyframe* before = nullptr;
  const SceneKeyframe* after = nullptr;
  for (const auto& k : keys) {
    if (!get(k)) continue;
    if (k.t <= t) before = &k;
    else if (!after) after = &k;
  }
  if (!before && !after) return std::nullopt;
  if (!before) return *get(*after);
  if (!after || after->t <= before->t) return *get(*before);
  return mix(*get(*before), *get(*after), (t - before->t) / (after->t - before->t));
}

template <typename T, typename Get>
std::optional<T> hold(const std::vector<SceneKeyframe>& keys, double t, Get get) {
  std::optional<T> out;
  for (const auto& k : keys) {
    if (k.t > t) break;
    if (get(k)) out = *get(k);
  }
  return out;
}

}  // namespace

int64_t scene_frame_count(const Scene& scene) {
  return static_cast<int64_t>(std::llround(scene.duration * scene.fps)) + 1;
}

SceneState scene_state_at(const Scene& scene, double t) {
  SceneState s;
  const auto& keys = scene.keyframes;
  s.animation = interpolate<double>(keys, t, [](const SceneKeyframe& k) { return k.animation; }, lerp);
  s.zoom = interpolate<std::array<double, 4>>(
      keys, t, [](const SceneKeyframe& k) { return k.zoom; },
      [](const std::array<double, 4>& a, const std::array<double, 4>& b, double f) {
        return std::array<double, 4>{lerp(a[0], b[0], f), lerp(a[1], b[1], f), lerp(a[2], b[2], f), lerp(a[3], b[3], f)};
      });
  s.n = hold<int64_t>(keys, t, [](const SceneKeyframe& k) { return k.n; });
  s.mask = hold<std::string>(keys, t, [](const SceneKeyframe& k) { return k.mask; });
  s.highlight = hold<std::string>(keys, t, [](const SceneKeyframe& k) { return k.highlight; }).value_or("");
  return s;
}

SceneLoad parse_scene(std::string_view text, const std::string& source, const SceneVocabulary& vocabulary) {
  SceneLoad out;
  std::optional<json> parsed = parse_json_text(text, source, out.errors);
  if (!parsed) return out;
  const json& root = *parsed;
  const JsonLines lines(text);
  JsonChecker c(source, lines);
  if (!root.is_object()) {
    c.error("", "a scene must be an object with 'mode' and 'keyframes', not " + json_type_word(root));
    out.errors = c.errors;
    return out;
  }
  c.only_keys(root, "", {"experiment", "mode", "panels", "size", "fps", "duration", "keyframes"});
  Scene scene;
  if (root.contains("experiment")) {
    if (!root["experiment"].is_object()) c.error("/experiment", "must be an object of experiment settings");
    else scene.experiment_json = root["experiment"].dump();
  }
  if (auto mode = c.text(root, "", "mode", true)) {
    if (!one_of(vocabulary.modes, *mode))
      c.error("/mode", "unknown mode '" + *mode + "'; choose " + join_words(vocabulary.modes));
    scene.mode = *mode;
  }
  if (root.contains("panels")) {
    const json& panels = root["panels"];
    if (!panels.is_array()) {
      c.error("/panels", "must be a list of panel names");
    } else {
      for (std::size_t i = 0; i < panels.size(); ++i) {
        const std::string p = "/panels/" + std::to_string(i);
        if (!panels[i].is_string()) c.error(p, "must be a panel name, not " + json_type_word(panels[i]));
        else if (!one_of(vocabulary.panels, panels[i].get<std::string>()))
          c.error(p, "unknown panel '" + panels[i].get<std::string>() + "'; choose " + join_words(vocabulary.panels));
        else scene.panels.push_back(panels[i].get<std::string>());
      }
    }
  }
  if (root.contains("size")) {
    const json& size = root["size"];
    if (!size.is_array() || size.size() != 2) {
      c.error("/size", "must be [width, height] in pixels");
    } else {
      auto w = c.integer(size[0], "/size/0", 16, 7680), h = c.integer(size[1], "/size/1", 16, 4320);
      if (w && h) {
        scene.width = static_cast<int>(*w);
        scene.height = static_cast<int>(*h);
      }
    }
  }
  if (root.contains("fps")) scene.fps = c.number(root["fps"], "/fps", 1, 120).value_or(scene.fps);
  if (!root.contains("keyframes")) {
    c.error("", "'keyframes' is missing");
  } else if (!root["keyframes"].is_array() || root["keyframes"].empty() || root["keyframes"].size() > kMaxKeyframes) {
    c.error("/keyframes", "must be a list of 1 to " + std::to_string(kMaxKeyframes) + " keyframes");
  } else {
    const json& keys = root["keyframes"];
    double last_t = -1;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string p = "/keyframes/" + std::to_string(i);
      const json& k = keys[i];
      if (!k.is_object()) {
        c.error(p, "a keyframe must be an object, not " + json_type_word(k));
        continue;
      }
      c.only_keys(k, p, {"t", "animation", "zoom", "n", "mask", "highlight"});
      SceneKeyframe key;
      key.t = std::max(last_t, 0.0);  // a keyframe with a bad or missing time keeps the order of the others
      if (!k.contains("t")) {
        c.error(p, "'t' (seconds) is missing");
      } else if (auto t = c.number(k["t"], p + "/t", 0, kMaxDuration)) {
        if (*t < last_t) c.error(p + "/t", "keyframes must be in time order: " + k["t"].dump() + " comes after " +
                                               json(last_t).dump());
        key.t = last_t = std::max(last_t, *t);
      }
      if (k.contains("animation")) key.animation = c.fraction(k["animation"], p + "/animation");
      if (k.contains("zoom")) key.zoom = c.zoom_window(k["zoom"], p + "/zoom");
      if (k.contains("n")) key.n = c.integer(k["n"], p + "/n", 1, int64_t{1} << 24);
      key.mask = c.text(k, p, "mask", false);
      if (auto h = c.text(k, p, "highlight", false)) {
        if (!h->empty() && !one_of(vocabulary.highlights, *h))
          c.error(p + "/highlight", "unknown element '" + *h + "'; choose " + join_words(vocabulary.highlights));
        key.highlight = *h;
      }
      scene.keyframes.push_back(std::move(key));
    }
  }
  scene.duration = scene.keyframes.empty() ? 0 : scene.keyframes.back().t;
  if (root.contains("duration")) {
    if (auto d = c.number(root["duration"], "/duration", 0, kMaxDuration)) {
      if (*d < scene.duration) c.error("/duration", "is shorter than the last keyframe's time");
      scene.duration = *d;
    }
  }
  out.errors = std::move(c.errors);
  if (out.errors.empty()) out.scene = std::move(scene);
  return out;
}

SceneLoad load_scene_file(const std::string& path, const SceneVocabulary& vocabulary) {
  SceneLoad out;
  std::string text;
  if (!read_bounded_file(path, kMaxSceneBytes, "scene", text, out.errors)) return out;
  return parse_scene(text, path, vocabulary);
}

std::string scene_to_json(const Scene& scene) {
  json j = json::object();
  if (!scene.experiment_json.empty()) j["experiment"] = json::parse(scene.experiment_json);
  j["mode"] = scene.mode;
  if (!scene.panels.empty()) j["panels"] = scene.panels;
  j["size"] = {scene.width, scene.height};
  j["fps"] = scene.fps;
  j["duration"] = scene.duration;
  j["keyframes"] = json::array();
  for (const auto& k : scene.keyframes) {
    json key = {{"t", k.t}};
    if (k.animation) key["animation"] = *k.animation;
    if (k.zoom) key["zoom"] = *k.zoom;
    if (k.n) key["n"] = *k.n;
    if (k.mask) key["mask"] = *k.mask;
    if (k.highlight) key["highlight"] = *k.highlight;
    j["keyframes"].push_back(key);
  }
  return j.dump(2) + "\n";
}

}  // namespace attnscope
