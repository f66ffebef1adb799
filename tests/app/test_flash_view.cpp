// test_flash_view.cpp — the FlashAttention mode: the trace replay's index against the trace it came from, the
// worker computation on the CPU backend (probe reconstruction against the reference, block-sparse skipping,
// the FA-1 pass order), the traced-size reduction and the render options; then the mode in-process through
// headless EGL: one Gantt bar per CTA, the highlighted K tile where the trace says at the replayed instant
// (position and pixels), and `attnscope render --mode FlashAttention` end to end.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/views/flash/model.hpp"
#include "app/gui/platform/platform.hpp"
#include "core/block_mask.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;


namespace {

bool frames_until_settled(App& app, Platform& platform) {
  const auto start = std::chrono::steady_clock::now();
  while (!app.settled() || app.frames_drawn() < 4) {
    app.frame(platform);
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) {
      MESSAGE("not settled: picture_current " << app.picture_current() << ", requested mode '"
              << app.ui().requested_mode << "', computing " << app.state().computing << ", errors "
              << app.state().errors.size() << ", frames " << app.frames_drawn());
      for (auto& e : app.state().errors) MESSAGE(e);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::array<int, 3> pixel(const std::vector<uint8_t>& rgba, int w, float x, float y) {
  const uint8_t* p = rgba.data() + (static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 4;
  return {p[0], p[1], p[2]};
}

}  // namespace

TEST_CASE("flash view in the app: Gantt bars = CTAs, the highlighted K tile is the trace's, probe steps in sync") {
  std::string error;
  auto platform = create_headless_platform(1280, 720, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 333;
  config.head_dim = 32;
  config.heads = 2;
  config.mask = "dense";
  config.causal = true;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  app.ui().requested_mode = "FlashAttention";
  REQUIRE(app.ui().flash.apply_options("at=0.5,br=32,bc=32,row=300").empty());  // a late row: its CTA visits ten tiles
  REQUIRE(frames_until_settled(app, *platform));
  FlashViewState& view = app.ui().flash;
  REQUIRE(view.result);
  REQUIRE_MESSAGE(view.result->error.empty(), view.result->error);
  const FlashViewResult& r = *view.result;
  const Trace& trace = r.trace;
  CHECK(view.readout.gantt_bars == static_cast<int32_t>(trace.ctas.size()));
  CHECK(view.readout.gantt_w > 100);
  CHECK(view.time_ns == doctest::Approx(0.5 * static_cast<double>(r.replay.end_ns)));

  // Put the replay at the end of each of several steps of the probed row's CTA; the panel must show that CTA's
  // K/V tile, drawn at its place in the K strip in the followed unit's colour, and the probe steps done so far.
  const CtaRecord& cta = trace.ctas[static_cast<size_t>(r.replay.probe_ctas.at(0))];
  REQUIRE(cta.visits.size() >= 3);
  std::set<int32_t> seen_tiles;
  for (size_t v : {size_t{0}, cta.visits.size() / 2, cta.visits.size() - 1}) {
    CAPTURE(v);
    view.time_ns = static_cast<double>(cta.visits[v].end_ns);
    app.frame(*platform);
    app.frame(*platform);
    const int64_t t = static_cast<int64_t>(view.time_ns);
    const TraceReplay::Activity a = r.replay.at(trace, cta.unit, t);
    REQUIRE(a.cta >= 0);
    const int32_t expected_tile = trace.ctas[static_cast<size_t>(a.cta)].visits[static_cast<size_t>(a.visit)].k_tile;
    CHECK(view.readout.shown_unit == cta.unit);
    CHECK(view.readout.shown_cta == trace.ctas[static_cast<size_t>(a.cta)].cta);
    CHECK(view.readout.shown_k_tile == expected_tile);
    seen_tiles.insert(expected_tile);
    const auto& ro = view.readout;
    CHECK(ro.k_tile_x == doctest::Approx(ro.k_strip_x + ro.k_strip_w * expected_tile / trace.tc).epsilon(0.01));
    CHECK(ro.k_tile_y == doctest::Approx(ro.k_strip_y));
    CHECK(view.readout.probe_steps_shown == r.replay.probe_steps_done(t));
    std::vector<uint8_t> rgba;
    int w = 0, h = 0;
    REQUIRE(platform->read_pixels(rgba, w, h));
    const ImU32 c = flash_unit_color(cta.unit);
    const std::array<int, 3> want = {static_cast<int>(c & 0xFF), static_cast<int>((c >> 8) & 0xFF),
                                     static_cast<int>((c >> 16) & 0xFF)};
    const auto got = pixel(rgba, w, ro.k_tile_x + ro.k_tile_w * 0.5f, ro.k_tile_y + ro.k_tile_h * 0.5f);
    for (int ch = 0; ch < 3; ++ch) CHECK(std::abs(got[ch] - want[ch]) <= 3);
    // A tile of the strip the trace does not name at this instant is not drawn in that colour.
    const int32_t other = (expected_tile + trace.tc / 2) % trace.tc;
    const auto elsewhere = pixel(rgba, w, ro.k_strip_x + ro.k_strip_w * (other + 0.5f) / trace.tc,
                                 ro.k_tile_y + ro.k_tile_h * 0.5f);
    CHECK((std::abs(elsewhere[0] - want[0]) + std::abs(elsewhere[1] - want[1]) + std::abs(elsewhere[2] - want[2])) > 30);
  }
  CHECK(seen_tiles.size() == 3);
  view.time_ns = static_cast<double>(r.replay.end_ns);
  app.frame(*platform);
  CHECK(view.readout.probe_steps_shown == static_cast<int32_t>(r.replay.probe_visits.size()));
  CHECK(view.readout.softmax_plot_w > 50);
  // At the end both the scores and the softmax plot have legends, and neither is drawn over its data.
  CHECK(view.readout.softmax_legends == 2);
  CHECK(view.readout.softmax_legends_over_data == 0);
}

TEST_CASE("render --mode FlashAttention: a PNG, and bad view options refused with a message") {
  const auto dir = std::filesystem::temp_directory_path() / "attnscope_app_tests";
  std::filesystem::create_directories(dir);
  const std::string png = (dir / "flash.png").string();
  std::filesystem::remove(png);
  auto run = [](const std::string& env, const std::string& args, std::string* output) {
    const std::string cmd = env + " '" + std::string(ATTNSCOPE_BINARY) + "' " + args + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output->append(buf.data(), n);
    const int raw = pclose(pipe);
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  };
  std::string out;
  CHECK(run("", "render --mode FlashAttention --flash-view at=0.6,order=flash1 --n 200 --mask causal --size 960x600 --out '" + png + "'", &out) == 0);
  INFO(out);
  CHECK(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 10000);
  std::string bad;
  CHECK(run("", "render --mode FlashAttention --flash-view at=2 --n 64 --out '" + png + "'", &bad) != 0);
  CHECK(bad.find("--flash-view") != std::string::npos);
}

TEST_CASE("frame pacing: a playing replay asks for frames at the display rate; paused and settled, the app may sleep") {
  std::string error;
  auto platform = create_headless_platform(960, 540, &error);
  REQUIRE_MESSAGE(platform, error);
  ExperimentConfig config;
  config.n = 128;
  config.head_dim = 32;
  App app(config, app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  app.ui().requested_mode = "FlashAttention";
  app.ui().flash.playing = false;
  REQUIRE(frames_until_settled(app, *platform));
  app.frame(*platform);
  CHECK_FALSE(app.wants_frames());  // nothing moves: the loop may wait for input
  app.ui().flash.playing = true;
  app.frame(*platform);
  CHECK(app.wants_frames());        // the replay advances by itself: no waiting for the mouse
  app.ui().flash.playing = false;
  app.frame(*platform);
  CHECK_FALSE(app.wants_frames());
  // The KV cache filling plays the same way.
  app.ui().requested_mode = "KV cache";
  REQUIRE(frames_until_settled(app, *platform));
  app.ui().kv_view.playing = true;
  app.frame(*platform);
  CHECK(app.wants_frames());
  app.ui().kv_view.playing = false;
  REQUIRE(frames_until_settled(app, *platform));  // the cache grew while playing: its picture and readouts update
  app.frame(*platform);
  CHECK_FALSE(app.wants_frames());
  app.shutdown();
}
