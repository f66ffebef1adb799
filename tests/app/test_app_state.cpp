// test_app_state.cpp — the App in-process on a headless EGL platform: the worker's picture arrives, invalid
// entries are reported while the last good picture and the user's entries stay, and a colour-scale change
// recolours without recomputing.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/platform/png_write.hpp"
#include "app/gui/widgets/widgets.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {
bool frames_until_current(App& app, Platform& platform) {
  const auto start = std::chrono::steady_clock::now();
  while (!app.picture_current()) {
    app.frame(platform);
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  app.frame(platform);
  return true;
}
}  // namespace

TEST_CASE("App: invalid entries keep the last good picture and the user's entries") {
  std::string error;
  auto platform = create_headless_platform(640, 480, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 200;
  config.mask = "window:16";
  config.causal = true;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));
  REQUIRE(app.state().shown);
  const uint64_t good_generation = app.state().shown->generation;
  CHECK(app.state().shown->image.rows == 200);
  CHECK(app.state().errors.empty());
  CHECK(app.ui().heatmap_rect.w > 50);

  // The user types N = -5 and a density outside [0, 1].
  app.ui().draft.n = -5;
  app.ui().terms.push_back(MaskTerm{MaskTermKind::Random, 0, 8, 1.5, 1});
  app.ui().draft.mask = mask_text_from_editor(app.ui());
  app.ui().request(UiCommand::ApplyDraft);
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  REQUIRE_FALSE(app.state().errors.empty());
  bool names_n = false, names_density = false;
  for (auto& e : app.state().errors) {
    names_n |= e.find("-5") != std::string::npos;
    names_density |= e.find("density") != std::string::npos;
  }
  CHECK(names_n);
  CHECK(names_density);
  CHECK(app.state().shown->generation == good_generation);  // the last good picture stays
  CHECK(app.state().shown->spec.kv_len == 200);
  CHECK(app.ui().draft.n == -5);                             // and so do the entries
  CHECK(app.ui().terms.size() == 2);

  // Fixing N only (density still bad) still shows errors; fixing both computes a new picture.
  app.ui().draft.n = 300;
  app.ui().terms.back().density = 0.5;
  app.ui().draft.mask = mask_text_from_editor(app.ui());
  app.ui().request(UiCommand::ApplyDraft);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().errors.empty());
  CHECK(app.state().shown->generation > good_generation);
  CHECK(app.state().shown->spec.kv_len == 300);

  // Linear -> log changes only the colours: no new job.
  const uint64_t before = app.state().generation;
  app.ui().draft.scale = ColorScale::Log;
  app.ui().request(UiCommand::ApplyDraft);
  app.frame(*platform);
  app.frame(*platform);
  CHECK(app.state().generation == before);
  // Scores with negatives get the symmetric log, all-positive ones decades.
  CHECK(app.state().scale.mode ==
        (app.state().shown->image.min_value < 0 ? ScaleMode::SymLog : ScaleMode::Log10));
  app.shutdown();
}

TEST_CASE("App: undo and redo step through the experiments applied, with the mask editor following") {
  std::string error;
  auto platform = create_headless_platform(640, 480, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 128;
  config.mask = "window:8";
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));

  // Two edits: N, then the mask.
  app.ui().draft.n = 160;
  app.ui().request(UiCommand::ApplyDraft);
  REQUIRE(frames_until_current(app, *platform));
  app.ui().terms = {MaskTerm{MaskTermKind::Global, 4, 0, 0, 0}};
  app.ui().draft.mask = mask_text_from_editor(app.ui());
  app.ui().request(UiCommand::ApplyDraft);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().shown->spec.mask.to_string() == "global:4");

  // An invalid entry is not a step: undo goes back over the last valid one.
  app.ui().draft.n = -1;
  app.ui().request(UiCommand::ApplyDraft);
  app.frame(*platform);
  REQUIRE_FALSE(app.state().errors.empty());

  app.ui().request(UiCommand::Undo);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().errors.empty());
  CHECK(app.state().shown->spec.kv_len == 160);
  CHECK(app.state().shown->spec.mask.to_string() == "window:8");
  CHECK(app.ui().draft.n == 160);  // the entries follow
  REQUIRE(app.ui().terms.size() == 1);
  CHECK(app.ui().terms[0].kind == MaskTermKind::Window);

  app.ui().request(UiCommand::Undo);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().shown->spec.kv_len == 128);
  app.ui().request(UiCommand::Undo);  // nothing before the first experiment: no change
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().shown->spec.kv_len == 128);

  app.ui().request(UiCommand::Redo);
  app.ui().request(UiCommand::Redo);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().shown->spec.kv_len == 160);
  CHECK(app.state().shown->spec.mask.to_string() == "global:4");
  app.shutdown();
}

TEST_CASE("App: an invalid N is said in red beside the N field, on screen, naming the last valid value") {
  std::string error;
  auto platform = create_headless_platform(1280, 720, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 200;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(drawn_field_errors().empty());
  app.ui().draft.n = 0;  // what the N field holds after the user typed 0 and left it
  app.ui().request(UiCommand::ApplyDraft);
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  REQUIRE_FALSE(app.state().errors.empty());
  CHECK(app.state().shown->spec.kv_len == 200);  // the last valid experiment stays
  const DrawnFieldError* n_error = nullptr;
  for (const DrawnFieldError& e : drawn_field_errors())
    if (e.text.find("sequence length N 0") != std::string::npos) n_error = &e;
  REQUIRE(n_error != nullptr);
  CHECK(n_error->text.find("showing N = 200, the last valid value") != std::string::npos);
  CHECK(n_error->visible);  // inside the panel's visible area: no scrolling needed to read it
  // Beside the field: in the Problem section, above the mask editor's first rows (the top quarter of the window).
  CHECK(n_error->y < 720 * 0.25f);
  if (const char* dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR")) {
    std::vector<uint8_t> px;
    int w = 0, h = 0;
    if (platform->read_pixels(px, w, h)) CHECK(write_png(std::string(dir) + "/explore_invalid_n.png", px, w, h, &error));
  }
  // Typing a valid N again: the message goes, the new picture comes.
  app.ui().draft.n = 256;
  app.ui().request(UiCommand::ApplyDraft);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(drawn_field_errors().empty());
}

TEST_CASE("Explore: the heatmap uses the space of its panel at 1280×720 and 1920×1080 (square, filling, centred)") {
  for (const auto& [w, h] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
    CAPTURE(w);
    std::string error;
    auto platform = create_headless_platform(w, h, &error);
    REQUIRE_MESSAGE(platform, error);
    ExperimentConfig config;
    config.n = 1024;
    App app(config, app::make_backend("cpu", &error));
    REQUIRE_MESSAGE(app.init(*platform, &error), error);
    REQUIRE(frames_until_current(app, *platform));
    app.frame(*platform);
    const PixelRect image = app.ui().heatmap_rect;
    const PixelRect bar = app.ui().colorbar_rect;
    REQUIRE(app.ui().element_rects.count("heatmap") == 1);
    const PixelRect panel = app.ui().element_rects.at("heatmap");
    CHECK(image.w == doctest::Approx(image.h));  // square cells: N × N pairs in a square
    // The picture takes most of the panel's height (the heading, options and zoom bar take the rest); with the
    // legend and note below it, it had about half.
    CHECK(image.h >= 0.62f * panel.h);
    CHECK(image.y + image.h <= panel.y + panel.h);
    // Centred: the space left of the picture's labels and right of the text column differ little; at least the
    // picture and its colour bar sit neither against the left nor with most of the width empty on the right.
    const float right_gap = panel.x + panel.w - (bar.x + bar.w);
    CHECK(right_gap < 0.45f * panel.w);
    CHECK(image.x > panel.x);
  }
}

TEST_CASE("mask text field: a long paste is kept whole, every bad term is named, Escape drops a stale error") {
  UiState ui;
  ui.draft.n = 1024;
  // A painted 32 × 32 grid spelled out: over a thousand characters, as a paste from a saved config.
  std::string rows;
  for (int r = 0; r < 32; ++r) {
    if (r) rows += '/';
    for (int c = 0; c < 32; ++c) rows += (r + c) % 5 == 0 ? '1' : '0';
  }
  const std::string long_mask = "window:8+grid:32:" + rows;
  REQUIRE(long_mask.size() > 1000);
  ui.mask_text = long_mask;
  CHECK(apply_mask_text(ui));
  CHECK(ui.mask_text_error.empty());
  CHECK(ui.draft.mask == long_mask);
  CHECK(ui.mask_text == long_mask);  // nothing cut
  CHECK(ui.grid.rows == 32);

  // Both bad terms are reported; the active mask stays.
  ui.mask_text = "window:-3+foo";
  CHECK_FALSE(apply_mask_text(ui));
  CHECK(ui.mask_text_error.find("foo") != std::string::npos);
  CHECK(ui.mask_text_error.find("-3") != std::string::npos);
  CHECK(ui.draft.mask == long_mask);
  CHECK(ui.mask_text == "window:-3+foo");  // the typed text stays to be corrected

  // Escape: the field shows the active mask again and the error about the abandoned text is gone.
  cancel_mask_text(ui);
  CHECK(ui.mask_text_error.empty());
  CHECK(ui.mask_text == long_mask);
}
