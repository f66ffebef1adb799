// test_render.cpp — `attnscope render` end to end: real frames through headless EGL, asserted on the PNG's
// pixels (size, and a causal scene's masked upper triangle against its computed lower triangle), and the
// command's errors for bad input.
#include <doctest/doctest.h>

#include "tests/common/test_util.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace {

using attnscope::test::CommandResult;

CommandResult run_attnscope(const std::string& args) {
  const CommandResult r = attnscope::test::run_command(std::string("'") + ATTNSCOPE_BINARY + "' " + args);
  REQUIRE(r.started);
  return r;
}

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / "attnscope_app_tests";
  std::filesystem::create_directories(dir);
  return dir;
}

struct Image {
  int w = 0, h = 0;
  std::vector<unsigned char> px;
  std::array<int, 3> at(int x, int y) const {
    const unsigned char* p = px.data() + (static_cast<size_t>(y) * w + x) * 4;
    return {p[0], p[1], p[2]};
  }
};

Image load_png(const std::string& path) {
  Image img;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &img.w, &img.h, &channels, 4);
  REQUIRE_MESSAGE(data != nullptr, "could not load " << path);
  img.px.assign(data, data + static_cast<size_t>(img.w) * img.h * 4);
  stbi_image_free(data);
  return img;
}

}  // namespace

TEST_CASE("render: a causal scene has the requested size and a masked upper triangle") {
  const auto dir = temp_dir();
  const std::string png = (dir / "causal.png").string(), layout = (dir / "causal.json").string();
  std::filesystem::remove(png);
  const CommandResult r =
      run_attnscope("render --n 256 --mask causal --size 900x640 --out '" + png + "' --layout '" + layout + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const Image img = load_png(png);
  CHECK(img.w == 900);
  CHECK(img.h == 640);

  nlohmann::json j = nlohmann::json::parse(std::ifstream(layout));
  CHECK(j["cells"]["rows"] == 256);  // N = 256 is shown one cell per (q, k)
  const float hx = j["heatmap"]["x"], hy = j["heatmap"]["y"], hw = j["heatmap"]["w"], hh = j["heatmap"]["h"];
  REQUIRE(hw > 100);
  REQUIRE(hh > 100);
  REQUIRE(hx + hw <= img.w);
  REQUIRE(hy + hh <= img.h);

  // Sample a grid over the heatmap, away from the diagonal and the edges. Above the diagonal (k > q) every
  // pixel must be the masked grey; below it none may be.
  const std::array<int, 3> masked = {72, 72, 78};
  auto is_masked = [&](std::array<int, 3> c) {
    return std::abs(c[0] - masked[0]) <= 2 && std::abs(c[1] - masked[1]) <= 2 && std::abs(c[2] - masked[2]) <= 2;
  };
  int upper = 0, upper_masked = 0, lower = 0, lower_masked = 0;
  double upper_sum = 0, lower_sum = 0;
  for (int i = 1; i < 40; ++i)
    for (int k = 1; k < 40; ++k) {
      const float u = k / 40.f, v = i / 40.f;  // u: key axis (x), v: query axis (y)
      if (std::abs(u - v) < 0.05f) continue;
      const auto c = img.at(static_cast<int>(hx + u * hw), static_cast<int>(hy + v * hh));
      const int brightness = c[0] + c[1] + c[2];
      if (u > v) { ++upper; upper_masked += is_masked(c); upper_sum += brightness; }
      else { ++lower; lower_masked += is_masked(c); lower_sum += brightness; }
    }
  REQUIRE(upper > 100);
  REQUIRE(lower > 100);
  CHECK(upper_masked == upper);
  CHECK(lower_masked == 0);
  // And the two halves differ as pictures, not only as pixel classes.
  CHECK(std::abs(upper_sum / upper - lower_sum / lower) > 20);
}

TEST_CASE("render: bad input is refused with a message naming it") {
  const auto dir = temp_dir();
  const std::string png = (dir / "bad.png").string();
  SUBCASE("bad --size") {
    const CommandResult r = run_attnscope("render --size 0x100 --out '" + png + "'");
    CHECK(r.status != 0);
    CHECK(r.output.find("--size") != std::string::npos);
    const CommandResult r2 = run_attnscope("render --size wide --out '" + png + "'");
    CHECK(r2.status != 0);
    CHECK(r2.output.find("WIDTHxHEIGHT") != std::string::npos);
  }
  SUBCASE("malformed config file") {
    const std::string cfg = (dir / "broken.json").string();
    std::ofstream(cfg) << "{ \"n\": 256, ";
    const CommandResult r = run_attnscope("render --config '" + cfg + "' --out '" + png + "'");
    CHECK(r.status != 0);
    CHECK(r.output.find("broken.json:1: malformed JSON") != std::string::npos);
  }
  SUBCASE("invalid experiment") {
    const CommandResult r = run_attnscope("render --heads 3 --kv-heads 2 --mask window:-3 --out '" + png + "'");
    CHECK(r.status == 2);
    CHECK(r.output.find("query heads 3 is not a multiple of KV heads 2") != std::string::npos);
    const CommandResult r0 = run_attnscope("render --n 0 --out '" + png + "'");  // refused by the flag's own range
    CHECK(r0.status == 2);
    CHECK(r0.output.find("--n '0' is out of range (allowed: 1..1048576)") != std::string::npos);
  }
  SUBCASE("unwritable path and missing --out") {
    const CommandResult r = run_attnscope("render --n 64 --out /nonexistent/dir/x.png");
    CHECK(r.status != 0);
    CHECK(r.output.find("/nonexistent/dir") != std::string::npos);
    const CommandResult r2 = run_attnscope("render --n 64");
    CHECK(r2.status != 0);
    CHECK(r2.output.find("--out FILE.png is required") != std::string::npos);
  }
  SUBCASE("unknown flag") {
    const CommandResult r = run_attnscope("render --bogus 1 --out '" + png + "'");
    CHECK(r.status != 0);
    CHECK(r.output.find("unknown flag --bogus") != std::string::npos);
  }
}

TEST_CASE("gui without a display explains the headless command instead of crashing") {
  const CommandResult r = run_attnscope("gui --n 128");
  // This suite runs headless (CI); with a display the window would open, so only check when there is none.
  if (std::getenv("DISPLAY") == nullptr && std::getenv("WAYLAND_DISPLAY") == nullptr) {
    CHECK(r.status != 0);
    CHECK(r.output.find("attnscope render --out") != std::string::npos);
    CHECK(r.output.find("--n 128") != std::string::npos);
  }
}

TEST_CASE("help lists every flag of render and gui") {
  const CommandResult render = run_attnscope("render --help");
  CHECK(render.status == 0);
  for (const char* flag : {"--out", "--size", "--backend", "--layout", "--time-frames", "--timeout", "--config", "--n",
                           "--d", "--heads", "--kv-heads", "--batch", "--mask", "--causal", "--generator", "--seed",
                           "--dtype", "--show", "--scale"})
    CHECK_MESSAGE(render.output.find(flag) != std::string::npos, flag);
  const CommandResult gui = run_attnscope("gui --help");
  CHECK(gui.status == 0);
  for (const char* flag : {"--size", "--backend", "--config", "--n", "--mask", "--causal", "--show", "--scale"})
    CHECK_MESSAGE(gui.output.find(flag) != std::string::npos, flag);
}
