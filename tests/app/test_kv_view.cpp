// test_kv_view.cpp — the "KV cache" mode in-process on a headless EGL platform with the CPU backend: the decode
// loops for MHA, GQA and MQA arrive from the worker; both plots hold every measured point and floor inside their
// axes and the shared legend lies outside their data areas; the cache picture fills to the token clock (pixels
// counted) with the pages the core's model allocates; playing advances the clock; a shape whose query heads are
// not a multiple of its KV heads starts no loop; the fp16 / fp8 / int8 loops on GQA arrive with their output error,
// and the picture draws a quantised cache's closed groups in the dtype's colour, the open group in the fp16 one.
// With ATTNSCOPE_TEST_PNG_DIR set, the frames are also written there as PNGs (for looking at them).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/platform/png_write.hpp"
#include "core/cost_model.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

bool frames_until(App& app, Platform& platform, const std::function<bool()>& done, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    app.frame(platform);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool overlaps(ScreenPoint a0, ScreenPoint a1, ScreenPoint b0, ScreenPoint b1) {
  return a0.x < b1.x && b0.x < a1.x && a0.y < b1.y && b0.y < a1.y;
}

bool near_color(const uint8_t* p, ImU32 c) {
  return std::abs(p[0] - static_cast<int>(c & 0xFF)) <= 10 && std::abs(p[1] - static_cast<int>((c >> 8) & 0xFF)) <= 10 &&
         std::abs(p[2] - static_cast<int>((c >> 16) & 0xFF)) <= 10;
}

// Pixels of colour `c` along row y between x0 and x1.
int count_on_row(const std::vector<uint8_t>& px, int w, int y, float x0, float x1, ImU32 c) {
  int n = 0;
  for (int x = static_cast<int>(x0); x < static_cast<int>(x1); ++x)
    n += near_color(px.data() + (static_cast<size_t>(y) * w + x) * 4, c);
  return n;
}

void save(Platform& platform, const char* name) {
  const char* dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR");
  if (!dir) return;
  std::vector<uint8_t> px;
  int w = 0, h = 0;
  std::string error;
  if (platform.read_pixels(px, w, h)) CHECK_MESSAGE(write_png(std::string(dir) + "/" + name, px, w, h, &error), error);
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
  KvViewState& kv() { return app->ui().kv_view; }
  void frames(int n) {
    for (int i = 0; i < n; ++i) app->frame(*platform);
  }
  bool wait_for_loops(double seconds) {
    return frames_until(
        *app, *platform, [&] { return app->settled() && kv().result && kv().asked_key.empty(); }, seconds);
  }
};

}  // namespace

TEST_CASE("KV cache mode: MHA, GQA and MQA decode loops arrive; plots hold every point; legend outside the data") {
  Session session(1280, 720);
  REQUIRE_MESSAGE(session.platform != nullptr, session.error);  // display_main.cpp skips the suite without EGL
  REQUIRE_MESSAGE(session.app, session.error);
  KvViewState& kv = session.kv();
  kv.loop_context = 256;  // a short loop: the CPU twin decodes every step
  session.app->ui().requested_mode = "KV cache";
  REQUIRE(session.wait_for_loops(120));
  session.frames(3);
  CHECK_FALSE(session.app->failed());

  // The default preset is a grouped one; the three layouts are H, the model's KV heads, and 1.
  REQUIRE(kv.result);
  const KvRunResult& r = *kv.result;
  REQUIRE(r.runs.size() == 3);
  CHECK(kv.kv_heads > 1);
  CHECK(kv.kv_heads < kv.heads);
  CHECK(r.runs[0].kv_heads == kv.heads);
  CHECK(r.runs[1].kv_heads == kv.kv_heads);
  CHECK(r.runs[2].kv_heads == 1);
  size_t samples = 0;
  for (const KvLayoutRun& run : r.runs) {
    INFO(run.name << ": " << run.loop.error);
    REQUIRE(run.loop.ok);
    REQUIRE_FALSE(run.loop.samples.empty());
    CHECK(run.loop.samples.back().context == 256);
    CHECK(run.context.size() == run.loop.samples.size());
    for (size_t i = 0; i < run.ms.size(); ++i) {
      CHECK(run.ms[i] > 0);
      CHECK(run.gbs[i] > 0);
    }
    samples = run.loop.samples.size();
  }
  // Fewer KV heads, fewer bytes read per step: the loop's cache memory follows the KV heads.
  CHECK(r.runs[0].loop.samples.back().cache_bytes > r.runs[1].loop.samples.back().cache_bytes);
  CHECK(r.runs[1].loop.samples.back().cache_bytes > r.runs[2].loop.samples.back().cache_bytes);

  // Plots: every measured point (and the floors when the copy bandwidth was measured) inside the axes.
  const int floors = r.bandwidth_gbs > 0 ? 1 : 0;
  CHECK(kv.time_points == static_cast<int>(3 * samples * (1 + floors)));
  CHECK(kv.bw_points == static_cast<int>(3 * samples + 2 * floors));
  // The shared legend lies above both plots' data areas, apart from them (the earlier defect: legends inside the
  // plots covered the first points).
  CHECK(kv.legend_max.x > kv.legend_min.x);
  CHECK_FALSE(overlaps(kv.legend_min, kv.legend_max, kv.time_plot_min, kv.time_plot_max));
  CHECK_FALSE(overlaps(kv.legend_min, kv.legend_max, kv.bw_plot_min, kv.bw_plot_max));
  CHECK(kv.time_plot_max.x <= kv.bw_plot_min.x);  // side by side, not overlapping
  CHECK(kv.fill_max.y <= kv.legend_min.y);         // the cache picture sits above
  save(*session.platform, "kv_default.png");

  {  // the cache picture fills to the clock, with the pages the core model allocates
    kv.drawn_layout = KvLayout::Mqa;
    kv.tokens = kv.context / 2.0;
    session.frames(2);
    const int64_t P = kKvPageSizes[kv.page_index];
    CHECK(kv.fill_tokens == kv.context / 2);
    CHECK(kv.fill_pages == pages_for(kv.context / 2, P));
    std::vector<uint8_t> px;
    int w = 0, h = 0;
    REQUIRE(session.platform->read_pixels(px, w, h));
    // Layers are drawn as rows with a dark line between them: of a few pixel rows about the middle, the one inside
    // a layer (the most filled; the picture's height follows the panels above, so the middle may hit a line).
    const int y_mid = static_cast<int>((kv.fill_min.y + kv.fill_max.y) * 0.5f);
    const float width = kv.fill_max.x - kv.fill_min.x;
    int filled = 0, y = y_mid;
    for (int dy = -3; dy <= 3; ++dy) {
      const int n = count_on_row(px, w, y_mid + dy, kv.fill_min.x, kv.fill_max.x, plot::GetStyle().palette[2]);
      if (n > filled) {
        filled = n;
        y = y_mid + dy;
      }
    }
    CHECK(filled == doctest::Approx(width * 0.5).epsilon(0.03));
    // No GQA colour in the K block while MQA is drawn.
    CHECK(count_on_row(px, w, y, kv.fill_min.x, kv.fill_max.x, plot::GetStyle().palette[1]) == 0);
    save(*session.platform, "kv_mqa_half.png");

    // One token past a full page takes a second page.
    kv.tokens = static_cast<double>(P + 1);
    session.frames(1);
    CHECK(kv.fill_pages == 2);
    kv.tokens = static_cast<double>(P);
    session.frames(1);
    CHECK(kv.fill_pages == 1);  // going back rebuilds the page model
  }

  {  // fp16, fp8 and int8 on the GQA layout: the quantised loops ran, halve the bytes and report their error
    REQUIRE(r.dtype_runs.size() == 3);
    CHECK(r.dtype_runs[0].dtype == KvDtype::F16);
    CHECK(r.dtype_runs[1].dtype == KvDtype::Fp8E4M3);
    CHECK(r.dtype_runs[2].dtype == KvDtype::Int8);
    CHECK(r.kv_group == kKvGroups[kv.kv_group_index]);
    for (int i = 1; i < 3; ++i) {
      const DecodeLoopResult& loop = r.dtype_runs[static_cast<size_t>(i)].loop;
      INFO(kv_dtype_name(r.dtype_runs[static_cast<size_t>(i)].dtype) << ": " << loop.error);
      REQUIRE(loop.ok);
      REQUIRE_FALSE(loop.samples.empty());
      CHECK(loop.samples.back().context == 256);
      CHECK(loop.samples.back().decode_ms > 0);
      REQUIRE(loop.error_measured);
      CHECK(loop.error_max_abs > 0);
      CHECK(loop.error_rel_l2 < 0.25);
      CHECK(loop.bytes_per_token_layer == kv_bytes_per_token_layer(r.runs[1].kv_heads, kv.head_dim, loop.kv_dtype == "fp8" ? KvDtype::Fp8E4M3 : KvDtype::Int8, r.kv_group));
      CHECK(loop.bytes_per_token_layer < 0.51 * kv_bytes_per_token_layer(r.runs[1].kv_heads, kv.head_dim, KvDtype::F16, 16));
    }
    // The dtype table lies below the layout table, above the plots' legend.
    CHECK(kv.dtype_table_max.y > kv.dtype_table_min.y);
    CHECK(kv.dtype_table_max.y <= kv.legend_min.y);

    // The picture with an int8 cache: closed groups in int8's colour, the open group (G − 1 tokens here) in the
    // layout's fp16 colour.
    kv.drawn_layout = KvLayout::Gqa;
    kv.fill_dtype = KvDtype::Int8;
    const int64_t G = kKvGroups[kv.kv_group_index];
    kv.tokens = static_cast<double>(kv.context / 2 + G - 1);
    session.frames(2);
    CHECK(kv.fill_quantised_tokens == (kv.context / 2 + G - 1) / G * G);
    std::vector<uint8_t> px;
    int w = 0, h = 0;
    REQUIRE(session.platform->read_pixels(px, w, h));
    const int y_mid = static_cast<int>((kv.fill_min.y + kv.fill_max.y) * 0.5f);
    const float width = kv.fill_max.x - kv.fill_min.x;
    int coded = 0;
    for (int dy = -3; dy <= 3; ++dy)
      coded = std::max(coded, count_on_row(px, w, y_mid + dy, kv.fill_min.x, kv.fill_max.x, plot::GetStyle().palette[4]));
    CHECK(coded == doctest::Approx(width * static_cast<double>(kv.fill_quantised_tokens) / kv.context).epsilon(0.03));
    save(*session.platform, "kv_int8_half.png");
    kv.fill_dtype = KvDtype::F16;
    session.frames(1);
    CHECK(kv.fill_quantised_tokens == 0);
  }

  {  // play advances the clock; pause holds it
    kv.tokens = 0;
    kv.speed = 5.0f;
    kv.playing = true;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(300)) session.frames(1);
    CHECK(kv.fill_tokens > 0);
    kv.playing = false;
    session.frames(1);
    const int64_t held = kv.fill_tokens;
    session.frames(5);
    CHECK(kv.fill_tokens == held);
  }

  {  // query heads not a multiple of the KV heads: no loop is started, the last result stays
    const std::string key = r.key;
    kv.preset = static_cast<int>(model_presets().size());  // custom shape
    kv.heads = 32;
    kv.kv_heads = 5;
    session.frames(3);
    CHECK(kv.asked_key.empty());
    CHECK(kv.result->key == key);
    CHECK_FALSE(session.app->failed());
    save(*session.platform, "kv_bad_shape.png");
  }
}

TEST_CASE("KV cache mode at 1920x1080: a deep model, batch 8, 256-token pages, partly written page") {
  Session session(1920, 1080);
  REQUIRE_MESSAGE(session.platform != nullptr, session.error);  // display_main.cpp skips the suite without EGL
  REQUIRE_MESSAGE(session.app, session.error);
  KvViewState& kv = session.kv();
  kv.initialised = true;
  kv.preset = static_cast<int>(model_presets().size());  // custom shape
  kv.layers = 80;
  kv.heads = 64;
  kv.kv_heads = 8;
  kv.head_dim = 128;
  kv.context = 32768;
  kv.page_index = 4;  // 256 tokens
  kv.batch = 8;
  kv.loop_context = 128;
  kv.tokens = 3 * 256 + 100;  // page 3 partly written
  kv.fill_dtype = KvDtype::Fp8E4M3;  // the picture stores fp8: 864 tokens in closed 16-token groups, 4 staged
  session.app->ui().requested_mode = "KV cache";
  REQUIRE(session.wait_for_loops(120));
  session.frames(3);
  CHECK_FALSE(session.app->failed());
  REQUIRE(kv.result);
  for (const KvLayoutRun& run : kv.result->runs) CHECK_MESSAGE(run.loop.ok, run.loop.error);
  CHECK(kv.fill_pages == 4);
  CHECK(kv.fill_quantised_tokens == (3 * 256 + 100) / 16 * 16);
  CHECK_FALSE(overlaps(kv.legend_min, kv.legend_max, kv.time_plot_min, kv.time_plot_max));
  CHECK_FALSE(overlaps(kv.legend_min, kv.legend_max, kv.bw_plot_min, kv.bw_plot_max));
  save(*session.platform, "kv_deep_1080.png");
}
