// test_presenter.cpp — presenter mode in the App on a headless EGL platform: a settings file of garbage is reported
// by name and line and the app starts with defaults and draws its picture; an experiment saved (Ctrl S's path)
// and opened again (Ctrl O's) comes back equal and is an undo step; a bad file is reported in the dialog and the
// draft is kept; the light theme and cividis change the pixels; presenter keys change the text size.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <array>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "app/cli/backends.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/presenter/file_dialog.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/shell/app.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope;
using namespace attnscope::gui;
using attnscope::test::any_contains;
namespace fs = std::filesystem;

namespace {

bool frames_until_current(App& app, Platform& platform) {
  const auto start = std::chrono::steady_clock::now();
  while (!app.picture_current()) {
    app.frame(platform);
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int i = 0; i < 3; ++i) app.frame(platform);
  return true;
}

fs::path temp_dir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The mean RGB of the frame's top-left corner (the window background under the menu bar's right end is avoided:
// the corner is the menu bar itself).
double mean_brightness(Platform& platform) {
  std::vector<uint8_t> rgba;
  int w = 0, h = 0;
  if (!platform.read_pixels(rgba, w, h)) return -1;
  double sum = 0;
  int count = 0;
  for (int y = h / 2; y < h; y += 7)
    for (int x = 0; x < w; x += 7) {
      const uint8_t* p = &rgba[(static_cast<size_t>(y) * w + x) * 4];
      sum += (p[0] + p[1] + p[2]) / 3.0;
      ++count;
    }
  return sum / count;
}

// The colour of the heatmap's centre pixel.
std::array<int, 3> heatmap_centre(const App& app, Platform& platform) {
  std::vector<uint8_t> rgba;
  int w = 0, h = 0;
  if (!platform.read_pixels(rgba, w, h)) return {-1, -1, -1};
  const PixelRect r = app.ui().heatmap_rect;
  const int x = static_cast<int>(r.x + r.w * 0.3f), y = static_cast<int>(r.y + r.h * 0.7f);
  const uint8_t* p = &rgba[(static_cast<size_t>(y) * w + x) * 4];
  return {p[0], p[1], p[2]};
}

}  // namespace

TEST_CASE("presenter: a settings file of garbage is reported by name and line; the app starts and draws") {
  const fs::path dir = temp_dir("attnscope_presenter_garbage");
  const std::string path = (dir / "settings.json").string();
  {
    std::ofstream f(path);
    f << "{\n  \"font_scale\": 1.5,\n  \"theme\": \x01 garbage\n";
  }
  std::string error;
  auto platform = create_headless_platform(800, 600, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 128;
  App app(config, app::make_backend("cpu", &error));
  const SettingsLoad load = app.presenter().open_settings(path, app.ui());
  REQUIRE_FALSE(load.errors.empty());
  CHECK(any_contains(load.errors, path + ":3:"));
  CHECK(app.ui().font_scale == 1.0);  // defaults: nothing of a broken file is half-applied
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().shown);
  CHECK(app.ui().heatmap_rect.w > 50);
  REQUIRE_FALSE(app.presenter().messages().empty());  // shown in the UI (and printed on stderr)
  CHECK(any_contains(app.presenter().messages(), path + ":3:"));
  // The broken text is kept beside the file (the next save replaces the file with good settings).
  CHECK(fs::exists(path + ".bad"));
  CHECK(any_contains(app.presenter().messages(), path + ".bad"));
  app.shutdown();
  fs::remove_all(dir);
}

TEST_CASE("presenter: settings are applied at start and saved at exit") {
  const fs::path dir = temp_dir("attnscope_presenter_settings");
  const std::string path = (dir / "attnscope" / "settings.json").string();
  Settings start;
  start.font_scale = 1.5;
  start.theme = Theme::Light;
  start.colormap = "cividis";
  REQUIRE(save_settings_file(path, start).ok);
  std::string error;
  auto platform = create_headless_platform(800, 600, &error);
  REQUIRE_MESSAGE(platform, error);
  {
    App app(ExperimentConfig{}, app::make_backend("cpu", &error));
    CHECK(app.presenter().open_settings(path, app.ui()).errors.empty());
    REQUIRE_MESSAGE(app.init(*platform, &error), error);
    app.frame(*platform);
    CHECK(app.ui().font_scale == 1.5);
    CHECK(palette_theme() == Theme::Light);
    // The presenter keys: Ctrl + twice, Ctrl − once, then the spotlight.
    app.presenter().perform(KeyAction::FontBigger, app.ui());
    app.presenter().perform(KeyAction::FontBigger, app.ui());
    app.presenter().perform(KeyAction::FontSmaller, app.ui());
    CHECK(app.ui().font_scale == doctest::Approx(1.65));
    const float px_before = app.ui().font_px;
    app.frame(*platform);
    CHECK(app.ui().font_px > px_before);  // the fonts were rebuilt larger
    app.presenter().perform(KeyAction::Spotlight, app.ui());
    // Ctrl Page Down / Up: the neighbouring tab, wrapping at both ends.
    const int first_mode = app.ui().mode;
    app.presenter().perform(KeyAction::NextMode, app.ui());
    app.frame(*platform);
    app.frame(*platform);
    CHECK(app.ui().mode == first_mode + 1);
    app.presenter().perform(KeyAction::PreviousMode, app.ui());
    app.frame(*platform);
    app.frame(*platform);
    app.presenter().perform(KeyAction::PreviousMode, app.ui());
    app.frame(*platform);
    app.frame(*platform);
    CHECK(app.ui().mode > first_mode + 1);  // wrapped to the last tab
    app.presenter().perform(KeyAction::NextMode, app.ui());
    app.frame(*platform);
    app.frame(*platform);
    CHECK(app.ui().mode == first_mode);
    app.presenter().set_theme(Theme::Dark);
    app.frame(*platform);
    app.shutdown();  // saves
  }
  set_palette_theme(Theme::Dark);
  const SettingsLoad back = load_settings_file(path);
  CHECK(back.errors.empty());
  CHECK(back.settings.font_scale == doctest::Approx(1.65));
  CHECK(back.settings.theme == Theme::Dark);
  CHECK(back.settings.colormap == "cividis");
  CHECK(back.settings.pointer_spotlight);
  fs::remove_all(dir);
}

TEST_CASE("presenter: Ctrl S then Ctrl O brings the experiment back, as an undo step; a bad file changes nothing") {
  const fs::path dir = temp_dir("attnscope_presenter_files");
  std::string error;
  auto platform = create_headless_platform(800, 600, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig first;
  first.n = 160;
  first.mask = "window:16";
  first.causal = true;
  first.seed = 7;
  App app(first, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));

  Settings& settings = app.presenter().settings();
  ExperimentFileDialog& dialog = app.presenter().file_dialog();
  const std::string file = (dir / "saved.json").string();
  app.presenter().perform(KeyAction::SaveExperiment, app.ui());  // Ctrl S opens the dialog
  app.frame(*platform);
  CHECK(dialog.mode() == ExperimentFileDialog::Mode::Save);
  REQUIRE(dialog.save(file, app.state().config, settings));
  dialog.close();
  app.frame(*platform);
  CHECK(dialog.mode() == ExperimentFileDialog::Mode::Closed);
  CHECK(settings.recent_experiments.front() == file);

  // Saving into a folder that does not exist fails with the reason, and nothing is written.
  CHECK_FALSE(dialog.save((dir / "missing" / "x.json").string(), app.state().config, settings));
  REQUIRE_FALSE(dialog.errors().empty());
  CHECK(any_contains(dialog.errors(), "missing"));
  if (fs::exists("/dev/full")) {  // a full disk: said in words, the dialog stays open for another path
    CHECK_FALSE(dialog.save("/dev/full", app.state().config, settings));
    CHECK(any_contains(dialog.errors(), "full"));
  }

  // Change the experiment, then open the saved one.
  app.ui().draft.n = 96;
  app.ui().request(UiCommand::ApplyDraft);
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().config.n == 96);
  app.presenter().perform(KeyAction::OpenExperiment, app.ui());  // Ctrl O
  app.frame(*platform);
  CHECK(dialog.mode() == ExperimentFileDialog::Mode::Open);
  REQUIRE(dialog.open(file, app.ui(), SpecLimits{}, settings));
  dialog.close();
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().config == first);
  CHECK(app.ui().draft == first);

  // It is an undo step: Ctrl Z goes back to N = 96, Ctrl Shift Z forward again.
  app.presenter().perform(KeyAction::Undo, app.ui());
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().config.n == 96);
  app.presenter().perform(KeyAction::Redo, app.ui());
  REQUIRE(frames_until_current(app, *platform));
  CHECK(app.state().config == first);

  // Malformed JSON: the dialog names the file and line; the draft and the experiment stay.
  const std::string broken = (dir / "broken.json").string();
  {
    std::ofstream f(broken);
    f << "{\n  \"n\": 64,\n  \"mask\": \n}\n";
  }
  app.ui().draft.seed = 99;  // an edit the user has not applied yet
  CHECK_FALSE(dialog.open(broken, app.ui(), SpecLimits{}, settings));
  INFO(dialog.errors().front());
  CHECK(any_contains(dialog.errors(), broken + ":4"));
  CHECK(app.ui().draft.seed == 99);
  // A valid file with an experiment the backend refuses: reported, nothing replaced.
  const std::string invalid = (dir / "invalid.json").string();
  {
    std::ofstream f(invalid);
    f << "{\"n\": 64, \"heads\": 3, \"kv_heads\": 2}\n";
  }
  CHECK_FALSE(dialog.open(invalid, app.ui(), SpecLimits{}, settings));
  CHECK_FALSE(dialog.errors().empty());
  CHECK(app.ui().draft.seed == 99);
  CHECK(app.state().config == first);
  CHECK_FALSE(dialog.open((dir / "absent.json").string(), app.ui(), SpecLimits{}, settings));
  CHECK(any_contains(dialog.errors(), "absent.json"));
  app.shutdown();
  fs::remove_all(dir);
}

TEST_CASE("presenter: the light theme and cividis change what is drawn") {
  std::string error;
  auto platform = create_headless_platform(800, 600, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 128;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  REQUIRE(frames_until_current(app, *platform));
  const double dark = mean_brightness(*platform);
  const auto viridis_centre = heatmap_centre(app, *platform);
  app.presenter().set_theme(Theme::Light);
  app.presenter().set_colormap(ColormapKind::Cividis);
  for (int i = 0; i < 3; ++i) app.frame(*platform);
  const double light = mean_brightness(*platform);
  CHECK(light > dark + 80);  // the window went from near black to near white
  const auto cividis_centre = heatmap_centre(app, *platform);
  CHECK(cividis_centre != viridis_centre);

  app.presenter().set_theme(Theme::Dark);
  app.frame(*platform);
  app.shutdown();
}
