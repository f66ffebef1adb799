// test_settings_kill.cpp — settings survive kill -9 during a write: a child process saves versions of the settings
// in a tight loop and is killed with SIGKILL at varying moments; after each kill the file parses without an error
// and equals one of the versions the child wrote, never a mixture or a truncated file.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/settings.hpp"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

// Version k of the settings: every field depends on k (the step says which version it is), and the recent list
// makes each file several kilobytes, so a write takes long enough to be interrupted.
Settings settings_version(int k) {
  Settings s;
  s.font_scale = 0.5 + (k % 300) * 0.01;
  s.theme = k % 2 ? Theme::Light : Theme::Dark;
  s.colormap = k % 3 ? "viridis" : "cividis";
  s.pointer_spotlight = k % 5 == 0;
  s.window = {k % 1000, (k * 7) % 1000, 800 + k % 500, 600 + k % 300, k % 4 == 0, k % 6 == 0};
  for (int i = 0; i < static_cast<int>(Settings::kMaxRecent); ++i)
    s.recent_experiments.push_back("/experiments/version-" + std::to_string(k) + "/" + std::string(300, 'a' + i % 26) +
                                   std::to_string(i) + ".json");
  s.lesson = {"lesson-" + std::to_string(k) + ".json", k};
  return s;
}

}  // namespace

TEST_CASE("settings: a kill -9 during a save leaves a whole file, one of the versions written") {
  const fs::path dir = fs::temp_directory_path() / ("attnscope_settings_kill_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "settings.json").string();
  REQUIRE(save_settings_file(path, settings_version(0)).ok);

  int checked = 0, rewritten = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int k = 1; k < 10000; k = k % 9999 + 1) save_settings_file(path, settings_version(k));
      ::_exit(0);
    }
    // Once the child has written (a reader meanwhile always sees a whole file), kill it at a different moment each
    // round: 0 to 33 ms later.
    const auto start = std::chrono::steady_clock::now();
    while (load_settings_file(path).settings.lesson.step == 0 &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * round));
    REQUIRE(::kill(child, SIGKILL) == 0);
    // The next round starts from version 0 again, so its wait above sees its own child's writes.
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));

    const SettingsLoad load = load_settings_file(path);
    CAPTURE(round);
    CHECK(load.errors.empty());
    const int k = load.settings.lesson.step;
    CHECK(load.settings == settings_version(k));
    ++checked;
    rewritten += k != 0;
    REQUIRE(save_settings_file(path, settings_version(0)).ok);
  }
  CHECK(checked == 12);
  CHECK(rewritten > 0);  // the children did write (the test saw their versions, not only the first file)
  fs::remove_all(dir);  // also the temporary files the killed writers left behind
}
