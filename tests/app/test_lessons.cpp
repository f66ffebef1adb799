// test_lessons.cpp — every step of every shipped lesson, in-process on a headless EGL platform with the CPU backend:
// the step is applied (its mode on screen, its experiment shown), its run measured on the worker, the frame is not
// blank, no placeholder is left unfilled, the narration pane and the highlighted element were drawn; a broken lesson
// file is reported by name and line in the Lessons tab and the app goes on.
// One App walks through all lessons (as a teacher would), at 960x540 to keep CI fast; a step waits for its own
// picture and run, not for the modes' longer background work (the Scaling sweep, the KV cache's decode loops).
// With ATTNSCOPE_TEST_PNG_DIR set, each step's frame is also written there as a PNG.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/platform/png_write.hpp"
#include "app/gui/shell/app.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

namespace fs = std::filesystem;

fs::path lessons_dir() {
  const fs::path from_file = fs::path(__FILE__).parent_path().parent_path().parent_path() / "assets" / "lessons";
  if (from_file.is_absolute() && fs::is_directory(from_file)) return from_file;
  for (fs::path dir = fs::current_path();; dir = dir.parent_path()) {
    if (fs::is_directory(dir / "assets" / "lessons")) return dir / "assets" / "lessons";
    if (dir == dir.parent_path()) break;
  }
  return from_file;
}

bool frames_until(App& app, Platform& platform, const std::function<bool()>& done, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    app.frame(platform);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Variance of the frame's luminance: a blank or single-colour frame has almost none.
double luminance_variance(const std::vector<uint8_t>& px) {
  double sum = 0, sum2 = 0;
  const size_t n = px.size() / 4;
  for (size_t i = 0; i < n; ++i) {
    const double y = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
    sum += y;
    sum2 += y * y;
  }
  const double mean = sum / static_cast<double>(n);
  return sum2 / static_cast<double>(n) - mean * mean;
}

struct Session {
  std::unique_ptr<Platform> platform;
  std::unique_ptr<App> app;
  std::string error;
  Session(int w, int h) {
    platform = create_headless_platform(w, h, &error);
    if (!platform) return;
    ExperimentConfig config;
    config.n = 128;
    app = std::make_unique<App>(config, app::make_backend("cpu", &error));
    if (!app->init(*platform, &error)) app.reset();
  }
  ~Session() {
    if (app) app->shutdown();
  }
  void frames(int n) {
    for (int i = 0; i < n; ++i) app->frame(*platform);
  }
};

}  // namespace

TEST_CASE("the lesson vocabulary's modes are the app's tabs") {
  const std::vector<std::string> names = mode_names();
  for (const std::string& mode : app_lesson_vocabulary().modes)
    CHECK_MESSAGE(std::find(names.begin(), names.end(), mode) != names.end(), mode);
  CHECK(std::find(names.begin(), names.end(), "Lessons") != names.end());
}

TEST_CASE("every step of every shipped lesson renders, measured and filled, with its pane and highlight") {
  Session s(960, 540);
  REQUIRE_MESSAGE(s.app, s.error);
  App& app = *s.app;
  const std::vector<LessonEntry> lessons = scan_lessons(lessons_dir().string(), app_lesson_vocabulary());
  REQUIRE(lessons.size() >= 6);
  const char* png_dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR");
  const auto start = std::chrono::steady_clock::now();
  int steps = 0;
  for (const LessonEntry& entry : lessons) {
    INFO(entry.path);
    REQUIRE(entry.errors.empty());
    REQUIRE(open_lesson(app.ui().lesson, entry.path, app_lesson_vocabulary()));
    for (int k = 0; k < entry.steps; ++k) {
      const auto step_start = std::chrono::steady_clock::now();
      go_to_step(app.ui().lesson, k);
      const LessonViewState& view = app.ui().lesson;
      const LessonStep& step = view.lesson->steps[static_cast<size_t>(k)];
      INFO("step ", k + 1, ": ", step.title);
      const bool ready = frames_until(
          app, *s.platform,
          [&] {
            // The step's own run and picture, and the mode's panels drawn (the element it highlights is there).
            return lesson_step_ready(view) && app.picture_current() && app.ui().requested_mode.empty() &&
                   (step.highlight.empty() || app.ui().element_rects.count(step.highlight) > 0);
          },
          120);
      REQUIRE(ready);
      s.frames(3);  // the layout settles (ImGui sizes some items from the previous frame)
      CHECK(mode_names()[static_cast<size_t>(app.ui().mode)] == step.mode);
      CHECK(app.state().errors.empty());
      CHECK(view.run_error.empty());
      const std::vector<std::string> unfilled = unfilled_placeholders(view);
      CHECK_MESSAGE(unfilled.empty(), (unfilled.empty() ? std::string() : unfilled.front()));
      CHECK(app.ui().element_rects.count("narration"));
      if (!step.highlight.empty()) CHECK_MESSAGE(app.ui().element_rects.count(step.highlight), step.highlight);
      std::vector<uint8_t> px;
      int w = 0, h = 0;
      REQUIRE(s.platform->read_pixels(px, w, h));
      CHECK(luminance_variance(px) > 100.0);
      // The highlighted element is on screen (a stacked, scrolling layout brings it into view): its top inside
      // the window and a quarter of the window's height of it (or all of it) above the status bar.
      if (!step.highlight.empty() && app.ui().element_rects.count(step.highlight)) {
        const PixelRect r = app.ui().element_rects.at(step.highlight);
        const float shown = std::min(r.h, h * 0.25f);
        CHECK_MESSAGE((r.y >= 0 && r.y + shown <= h - app.ui().font_px * 1.5f),
                      step.highlight << " at y " << r.y << ".." << r.y + r.h << " in a window " << h << " high");
      }
      if (png_dir) {
        std::string error;
        const std::string name = fs::path(entry.path).stem().string() + "-" + std::to_string(k + 1) + ".png";
        CHECK_MESSAGE(write_png((fs::path(png_dir) / name).string(), px, w, h, &error), error);
      }
      MESSAGE(fs::path(entry.path).filename().string(), " step ", k + 1, ": ",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count(), " s");
      ++steps;
    }
  }
  MESSAGE(steps, " steps in ", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), " s");
  CHECK(steps >= 20);
}

TEST_CASE("a broken lesson file is reported by name and line; the app goes on and the other lessons open") {
  Session s(960, 540);
  REQUIRE_MESSAGE(s.app, s.error);
  App& app = *s.app;
  const fs::path dir = test::fresh_dir("lessons_broken");
  std::ofstream(dir / "01-broken.json") << "{\"title\": \"B\", \"steps\": [\n  {\"title\": \"a\", \"mode\": \"Explore\",\n"
                                           "   \"panel\": \"no-such-panel\", \"narration\": \"x\"}\n]}\n";
  fs::copy_file(lessons_dir() / "01-every-token.json", dir / "02-good.json");
  app.ui().lesson.dir = dir.string();
  app.ui().requested_mode = "Lessons";
  s.frames(4);
  const LessonViewState& view = app.ui().lesson;
  REQUIRE(view.catalogue.size() == 2);
  CHECK(test::any_contains(view.catalogue[0].errors, "01-broken.json:3"));
  CHECK(test::any_contains(view.catalogue[0].errors, "no-such-panel"));
  CHECK(view.catalogue[1].errors.empty());

  // Opening it directly fails with the same message; nothing changes and frames go on.
  const int frames_before = app.frames_drawn();
  CHECK(!open_lesson(app.ui().lesson, (dir / "01-broken.json").string(), app_lesson_vocabulary()));
  CHECK(test::any_contains(view.open_errors, "01-broken.json:3"));
  CHECK(!view.open());
  s.frames(2);
  CHECK(app.frames_drawn() == frames_before + 2);
  // The good one opens beside it.
  CHECK(open_lesson(app.ui().lesson, (dir / "02-good.json").string(), app_lesson_vocabulary()));
  s.frames(2);
  CHECK(app.ui().element_rects.count("narration"));
}

TEST_CASE("a highlighted panel below the fold is brought into view, and kept there while its results arrive") {
  // The KV cache mode stacks its panels beside the narration pane at 1600x900; lesson 6's last step highlights the
  // plots, the lowest of them, which grow from one line to full plots when the decode loop's result arrives.
  Session s(1600, 900);
  REQUIRE_MESSAGE(s.app, s.error);
  App& app = *s.app;
  REQUIRE(open_lesson(app.ui().lesson, (lessons_dir() / "06-inference.json").string(), app_lesson_vocabulary()));
  const LessonViewState& view = app.ui().lesson;
  const int last = static_cast<int>(view.lesson->steps.size()) - 1;
  go_to_step(app.ui().lesson, last);
  const std::string element = view.lesson->steps[static_cast<size_t>(last)].highlight;
  REQUIRE(element == "kv-plots");
  REQUIRE(frames_until(
      app, *s.platform,
      [&] { return lesson_step_ready(view) && app.ui().kv_view.result && app.ui().element_rects.count(element); },
      120));
  s.frames(4);
  const PixelRect r = app.ui().element_rects.at(element);
  const float h = 900;
  CHECK(r.h > app.ui().font_px * 10);  // the plots themselves, not the line shown while they were computed
  CHECK_MESSAGE((r.y >= 0 && r.y + r.h <= h), "kv-plots at y " << r.y << ".." << r.y + r.h);
}
