// test_faults.cpp — faults the app answers with a message and survives: a window minimised to a 0×0 framebuffer
// (frames skipped, no GL error, the picture still arrives and is drawn when the window comes back); no display for
// `attnscope gui` (a message naming the headless command, exit 1, no crash); the app's outputs on a full disk or past
// the file-size limit (the reason, exit 1, no file and no temporary file left; a PNG goes with its failed sidecar or
// layout).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/capture/screenshot.hpp"
#include "app/gui/capture/sidecar.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/shell/app.hpp"
#include "tests/common/test_util.hpp"

#include <glad/gl.h>

using namespace attnscope;
using namespace attnscope::gui;

namespace {

// A headless platform that reports a 0×0 framebuffer while `minimised`, as GLFW does for an iconified window.
class MinimisablePlatform : public Platform {
 public:
  explicit MinimisablePlatform(std::unique_ptr<Platform> inner) : inner_(std::move(inner)) {}
  bool minimised = false;
  std::string name() const override { return inner_->name(); }
  std::string gl_renderer() const override { return inner_->gl_renderer(); }
  bool headless() const override { return inner_->headless(); }
  void imgui_init() override { inner_->imgui_init(); }
  void imgui_new_frame() override { inner_->imgui_new_frame(); }
  void imgui_shutdown() override { inner_->imgui_shutdown(); }
  bool should_close() const override { return inner_->should_close(); }
  void bind_target() override { inner_->bind_target(); }
  void end_frame() override { inner_->end_frame(); }
  int framebuffer_width() const override { return minimised ? 0 : inner_->framebuffer_width(); }
  int framebuffer_height() const override { return minimised ? 0 : inner_->framebuffer_height(); }
  bool read_pixels(std::vector<uint8_t>& rgba, int& width, int& height) override {
    return inner_->read_pixels(rgba, width, height);
  }

 private:
  std::unique_ptr<Platform> inner_;
};

}  // namespace

TEST_CASE("faults: a window minimised to 0x0 skips its frames without GL errors and draws again when restored") {
  std::string error;
  auto headless = create_headless_platform(480, 320, &error);
  REQUIRE_MESSAGE(headless, error);
  MinimisablePlatform platform(std::move(headless));
  ExperimentConfig config;
  config.n = 96;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(platform, &error), error);
  app.frame(platform);
  const int drawn = app.frames_drawn();
  while (glGetError() != GL_NO_ERROR) {
  }

  // Minimised from the first picture on: frames are skipped, yet the worker's picture is taken.
  platform.minimised = true;
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  while (!app.picture_current()) {
    app.frame(platform);
    ++calls;
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int i = 0; i < 20; ++i, ++calls) app.frame(platform);
  CHECK(app.frames_drawn() == drawn);
  CHECK(app.frames_skipped() == calls);
  CHECK(glGetError() == GL_NO_ERROR);
  REQUIRE(app.state().shown);
  CHECK(app.state().shown->image.rows == 96);

  // Restored: frames are drawn again, with the picture, and nothing was clipped by the 0×0 spell.
  platform.minimised = false;
  for (int i = 0; i < 4; ++i) app.frame(platform);
  CHECK(app.frames_drawn() == drawn + 4);
  CHECK(glGetError() == GL_NO_ERROR);
  CHECK(app.ui().heatmap_rect.w > 20);
  std::vector<uint8_t> pixels;
  int w = 0, h = 0;
  REQUIRE(platform.read_pixels(pixels, w, h));
  CHECK(w == 480);
  CHECK(h == 320);
  app.shutdown();
}

TEST_CASE("faults: `attnscope gui` without a display says so, names the headless command and exits 1") {
  for (const char* command : {"gui", "gui --n 64", ""}) {
    const test::CommandResult r = test::run_command(std::string("env -u DISPLAY -u WAYLAND_DISPLAY timeout 60 '") +
                                                    ATTNSCOPE_BINARY + "' " + command);
    INFO("attnscope " << command << "\n" << r.output);
    REQUIRE(r.started);
    CHECK(r.status == 1);
    CHECK(r.output.find("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)") != std::string::npos);
    CHECK(r.output.find("attnscope render --out attnscope.png") != std::string::npos);
    CHECK(r.output.find("terminate called") == std::string::npos);
  }
}

namespace {
test::CommandResult render(const std::string& args) {
  const test::CommandResult r =
      test::run_command(std::string("timeout 300 '") + ATTNSCOPE_BINARY + "' render --size 320x240 --n 64 " + args);
  REQUIRE(r.started);
  return r;
}
}  // namespace

TEST_CASE("faults: the app's outputs on a full disk or past the file-size limit: the reason, exit 1, no file left") {
  const auto dir = test::fresh_dir("faults_outputs");
  const std::string png = (dir / "x.png").string();
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {
           Case{"--out /dev/full", "cannot write '/dev/full': the disk is full (No space left on device)"},
           // The layout is part of the output: its failure takes the PNG (and the sidecar) with it.
           Case{"--out '" + png + "' --sidecar --layout /dev/full",
                "--layout: cannot write '/dev/full': the disk is full (No space left on device)"},
           // Past the file-size limit (ulimit -f 0; SIGXFSZ is ignored, so the write fails with EFBIG): the
           // screenshot, a figure (SVG and CSV) and a scene's last frame leave neither the file nor a temporary one.
           Case{"--out '" + png + "' --sidecar", "size limit"},
           Case{"--mode FlashAttention --figure gantt --out '" + (dir / "g.svg").string() + "'", "size limit"},
           Case{"--mode FlashAttention --figure gantt --out '" + (dir / "g.csv").string() + "'", "size limit"},
           Case{"--scene '" + std::string(ATTNSCOPE_SOURCE_DIR) + "/assets/scenes/flash-tiles.json' --out '" + png + "'",
                "size limit"},
       }) {
    const bool limit = c.message == "size limit";
    const test::CommandResult r =
        limit ? test::run_command("ulimit -f 0 && timeout 300 '" + std::string(ATTNSCOPE_BINARY) + "' render --size 320x240 " +
                                  (c.args.find("--scene") == std::string::npos ? "--n 64 " : "") + c.args)
              : render(c.args);
    INFO("render " << c.args << "\n" << r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(r.output.find("terminate called") == std::string::npos);
    CHECK(test::entries(dir) == 0);  // nothing written, nothing half-written, no temporary file
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("faults: a screenshot whose sidecar cannot be written leaves neither file") {
  const auto dir = test::fresh_dir("faults_sidecar");
  const std::string png = (dir / "shot.png").string();
  std::filesystem::create_directory(capture::sidecar_path_for(png));  // a folder where the sidecar would go
  const std::vector<uint8_t> pixels(8 * 8 * 4, 128);
  const std::string error = capture::write_screenshot(png, pixels, 8, 8, capture::CaptureSidecar{}, true);
  INFO(error);
  CHECK(error.find("cannot write '" + capture::sidecar_path_for(png) + "'") != std::string::npos);
  CHECK(error.find("was removed with it") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(png));
  CHECK(test::entries(dir) == 1);  // only the folder that was in the way
  // Without the sidecar the same PNG is written whole.
  CHECK(capture::write_screenshot(png, pixels, 8, 8, capture::CaptureSidecar{}, false).empty());
  CHECK(std::filesystem::file_size(png) > 50);
  std::filesystem::remove_all(dir);
}
