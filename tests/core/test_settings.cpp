// test_settings.cpp — settings survive a round trip; a bad file is reported by name, line and key and the app
// gets defaults for what is bad; the recent list stays short and without duplicates.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tests/common/test_util.hpp"
#include "core/settings.hpp"

using namespace attnscope;
using attnscope::test::any_contains;
namespace fs = std::filesystem;

TEST_CASE("settings: saved and loaded back equal, into a folder made on the way") {
  const fs::path dir = fs::temp_directory_path() / ("attnscope_settings_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "attnscope" / "settings.json").string();
  SettingsLoad missing = load_settings_file(path);
  CHECK(missing.errors.empty());
  CHECK(missing.settings == Settings{});

  Settings s;
  s.font_scale = 2.25;
  s.theme = Theme::Light;
  s.colormap = "cividis";
  s.pointer_spotlight = true;
  s.window = {10, 20, 1280, 720, false, true};
  s.remember_experiment("/a.json");
  s.remember_experiment("/b.json");
  s.lesson = {"04-flash.json", 3};
  REQUIRE(save_settings_file(path, s).ok);
  SettingsLoad back = load_settings_file(path);
  CHECK(back.errors.empty());
  CHECK(back.settings == s);
  fs::remove_all(dir);
}

TEST_CASE("settings: the recent list puts the newest first, once, and stays short") {
  Settings s;
  for (int i = 0; i < 15; ++i) s.remember_experiment("/e" + std::to_string(i) + ".json");
  s.remember_experiment("/e10.json");
  REQUIRE(s.recent_experiments.size() == Settings::kMaxRecent);
  CHECK(s.recent_experiments[0] == "/e10.json");
  CHECK(s.recent_experiments[1] == "/e14.json");
  CHECK(std::count(s.recent_experiments.begin(), s.recent_experiments.end(), "/e10.json") == 1);
}

TEST_CASE("settings: bad fields are reported by line and take their defaults; the good ones stay") {
  const char* text = R"({
  "font_scale": 9,
  "theme": "neon",
  "colormap": "cividis",
  "window": {"width": 100, "height": 800, "fullscreen": "yes"},
  "recent_experiments": ["/ok.json", 5],
  "zoom": 3
})";
  SettingsLoad load = parse_settings(text, "settings.json");
  CHECK(load.settings.font_scale == 1.0);
  CHECK(load.settings.theme == Theme::Dark);
  CHECK(load.settings.colormap == "cividis");
  CHECK(load.settings.window.width == 1600);
  CHECK(load.settings.window.height == 800);
  CHECK(load.settings.recent_experiments == std::vector<std::string>{"/ok.json"});
  CHECK(any_contains(load.errors, "settings.json:2: /font_scale: must be from 0.5 to 4, not 9 (the default is used)"));
  CHECK(any_contains(load.errors, "settings.json:3: /theme: 'neon': choose dark or light"));
  CHECK(any_contains(load.errors, "settings.json:5: /window/width: must be a whole number from 320 to 16384, not 100"));
  CHECK(any_contains(load.errors, "settings.json:5: /window/fullscreen: must be true or false"));
  CHECK(any_contains(load.errors, "settings.json:6: /recent_experiments/1: must be a file path"));
  CHECK(any_contains(load.errors, "settings.json:7: /zoom: unknown key 'zoom'"));
  SettingsLoad jet = parse_settings("{\n  \"colormap\": \"jet\"\n}", "s.json");
  CHECK(jet.settings.colormap == "viridis");
  CHECK(any_contains(jet.errors, "s.json:2: /colormap: 'jet': choose viridis or cividis"));

  SettingsLoad garbage = parse_settings("{\"theme\": \"dark\",\n\x01", "s.json");
  CHECK(garbage.settings == Settings{});
  REQUIRE(garbage.errors.size() == 1);
  CHECK(garbage.errors[0].rfind("s.json:2: not valid JSON", 0) == 0);
  CHECK(garbage.errors[0].find("starting with the default settings") != std::string::npos);
}

TEST_CASE("settings: the file lives in $XDG_CONFIG_HOME/attnscope, else in $HOME/.config/attnscope") {
  CHECK(settings_path_from("/xdg", "/home/ada") == "/xdg/attnscope/settings.json");
  CHECK(settings_path_from("/xdg/", "/home/ada") == "/xdg/attnscope/settings.json");
  CHECK(settings_path_from(nullptr, "/home/ada") == "/home/ada/.config/attnscope/settings.json");
  CHECK(settings_path_from("", "/home/ada") == "/home/ada/.config/attnscope/settings.json");
  // A relative XDG_CONFIG_HOME is invalid by the XDG rule and ignored.
  CHECK(settings_path_from("relative/dir", "/home/ada") == "/home/ada/.config/attnscope/settings.json");
  CHECK(settings_path_from(nullptr, nullptr).empty());
  CHECK(settings_path_from("", "").empty());
}
