// test_scene.cpp — scene files: the state at any time (interpolated and held fields), frame counts on a fixed
// step, round trips through JSON, and errors by file, line and key.
#include <doctest/doctest.h>

#include <string>

#include "tests/common/test_util.hpp"
#include "core/scene.hpp"

using namespace attnscope;
using attnscope::test::any_contains;

namespace {

const char* kScene = R"({
  "experiment": {"n": 512, "mask": "causal"},
  "mode": "FlashAttention",
  "panels": ["tile-stream", "gantt"],
  "size": [640, 360],
  "fps": 10,
  "keyframes": [
    {"t": 0, "animation": 0, "zoom": [0, 0, 1, 1], "n": 512},
    {"t": 1, "mask": "window:64", "highlight": "gantt"},
    {"t": 2, "animation": 1, "zoom": [0.5, 0.5, 1, 1], "n": 2048, "highlight": ""}
  ]
})";

}  // namespace

TEST_CASE("scene: state at a time — interpolated animation and zoom, held N, mask and highlight") {
  SceneLoad load = parse_scene(kScene, "s.json");
  INFO((load.errors.empty() ? std::string() : load.errors[0]));
  REQUIRE(load.scene);
  const Scene& s = *load.scene;
  CHECK(s.width == 640);
  CHECK(s.duration == doctest::Approx(2.0));
  CHECK(scene_frame_count(s) == 21);  // t = 0, 0.1, ..., 2.0

  SceneState a = scene_state_at(s, 0.5);
  CHECK(*a.animation == doctest::Approx(0.25));
  CHECK((*a.zoom)[0] == doctest::Approx(0.125));
  CHECK((*a.zoom)[2] == doctest::Approx(1.0));
  CHECK(*a.n == 512);
  CHECK_FALSE(a.mask);
  CHECK(a.highlight.empty());

  SceneState b = scene_state_at(s, 1.5);
  CHECK(*b.animation == doctest::Approx(0.75));
  CHECK(*b.n == 512);
  CHECK(*b.mask == "window:64");
  CHECK(b.highlight == "gantt");

  SceneState c = scene_state_at(s, 5.0);  // past the end: the last values hold
  CHECK(*c.animation == doctest::Approx(1.0));
  CHECK(*c.n == 2048);
  CHECK(c.highlight.empty());
}

TEST_CASE("scene: JSON round trip gives an equal scene") {
  SceneLoad first = parse_scene(kScene, "s.json");
  REQUIRE(first.scene);
  const std::string text = scene_to_json(*first.scene);
  SceneLoad second = parse_scene(text, "round.json");
  INFO(text);
  REQUIRE(second.scene);
  CHECK(*second.scene == *first.scene);
}

TEST_CASE("scene: errors name file, line and key; all of them at once") {
  SceneVocabulary vocab{{"Explore", "FlashAttention"}, {"gantt"}, {"gantt"}};
  const char* text = R"({
  "mode": "Flashy",
  "panels": ["gantt", "nope"],
  "size": [10, 100000],
  "fps": 0,
  "keyframes": [
    {"t": 2, "animation": 1.5},
    {"t": 1, "zoom": [0.5, 0.5, 0.2, 1], "n": 18446744073709551615, "colour": 1},
    {"animation": 0}
  ],
  "duration": 0.5
})";
  SceneLoad load = parse_scene(text, "bad.json", vocab);
  CHECK_FALSE(load.scene);
  const auto& e = load.errors;
  CHECK(any_contains(e, "bad.json:2: /mode: unknown mode 'Flashy'"));
  CHECK(any_contains(e, "bad.json:3: /panels/1: unknown panel 'nope'"));
  CHECK(any_contains(e, "bad.json:4: /size/0: must be a whole number from 16 to 7680, not 10"));
  CHECK(any_contains(e, "/size/1: must be a whole number from 16 to 4320, not 100000"));
  CHECK(any_contains(e, "bad.json:5: /fps: must be from 1 to 120, not 0"));
  CHECK(any_contains(e, "bad.json:7: /keyframes/0/animation: must be from 0 to 1, not 1.5"));
  CHECK(any_contains(e, "bad.json:8: /keyframes/1/t: keyframes must be in time order"));
  CHECK(any_contains(e, "/keyframes/1/zoom: needs x0 < x1"));
  CHECK(any_contains(e, "/keyframes/1/n: must be a whole number from 1 to 16777216, not 18446744073709551615"));
  CHECK(any_contains(e, "bad.json:8: /keyframes/1/colour: unknown key 'colour'"));
  CHECK(any_contains(e, "bad.json:9: /keyframes/2: 't' (seconds) is missing"));
  CHECK(any_contains(e, "/duration: is shorter than the last keyframe's time"));
  CHECK(parse_scene("{\"mode\": \"x\",\n \"keyframes\": [}", "syntax.json").errors.at(0).rfind("syntax.json:2: not valid JSON", 0) == 0);
  CHECK(any_contains(load_scene_file("/nonexistent/scene.json").errors, "cannot open the scene file"));
}
