// test_layout.cpp — the layout follows the window size and the font scale: every mode, in-process on a headless EGL
// platform with the CPU backend, at 1280x720 (text 1x and 1.5x) and 1920x1080 (1x, 1.5x, 2x) draws nothing clipped
// (widgets/layout.hpp's checker finds no problem), Scaling on each of its four tabs. The checker itself, on a bare
// ImGui context, finds a window whose text runs past its edge, a form label wider than its column and a table cell
// wider than its column, and nothing in a window where everything fits or a table scrolls sideways; the helpers'
// arithmetic (share_length, fit_with_ellipsis, first_that_fits).
// With ATTNSCOPE_TEST_PNG_DIR set, each mode's frames are also written there as PNGs (for looking at them).
#include <doctest/doctest.h>

#include <imgui.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <sstream>
#include <thread>

#include "app/cli/backends.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/platform/png_write.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

struct Config {
  int width, height;
  std::vector<double> font_scales;
};
// Text at 1x: both sizes. Large presenter text: 1.5x at both sizes, 2x at 1920x1080.
const std::vector<Config> kTextOne = {{1280, 720, {1.0}}, {1600, 900, {1.0}}, {1920, 1080, {1.0}}};  // 1600x900: the default window
const std::vector<Config> kTextLarge = {{1280, 720, {1.5}}, {1920, 1080, {1.5, 2.0}}};

std::string describe(const std::vector<LayoutProblem>& problems) {
  std::ostringstream out;
  for (auto& p : problems) out << "\n  " << p.window << ": " << p.what;
  return out.str();
}

// Draws `mode` at every size and text scale of `configs` once its results are in; one CHECK per size and scale.
// `setup` (when given) changes the view before the first frame, e.g. picks a tab of the mode.
void check_mode_fits(const std::string& mode, const std::vector<Config>& configs,
                     const std::function<void(UiState&)>& setup = nullptr) {
  for (const Config& config : configs) {
    std::string error;
    auto platform = create_headless_platform(config.width, config.height, &error);
    REQUIRE_MESSAGE(platform != nullptr, error);  // display_main.cpp skips the suite without EGL
    ExperimentConfig experiment;
    experiment.n = 256;
    App app(experiment, app::make_backend("cpu", &error));
    REQUIRE_MESSAGE(app.init(*platform, &error), error);
    // Small measurements, so the modes that measure (Scaling's sweep, the KV cache's decode loops) settle in
    // seconds; the panels they fill are drawn as with the defaults.
    ScalingViewState& scaling = app.ui().scaling;
    AttentionSpec small;
    small.head_dim = 32;
    scaling.sweep_config = initial_sweep_config(small, BackendCapabilities{}, "window:16");
    scaling.sparse_mask = "window:16";
    scaling.sweep_config.lengths = {64, 128, 256};
    scaling.sweep_config.repetitions = 1;
    scaling.sweep_config.min_timed_s = 0.005;
    scaling.sweep_configured = true;
    app.ui().kv_view.loop_context = 128;
    app.ui().requested_mode = mode;
    if (setup) setup(app.ui());
    const auto start = std::chrono::steady_clock::now();
    while (!app.settled() || app.frames_drawn() < 5) {
      app.frame(*platform);
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > 30) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK_MESSAGE(app.settled(), mode << " did not settle in 30 s");
    for (double scale : config.font_scales) {
      app.ui().font_scale = scale;
      for (int i = 0; i < 4; ++i) app.frame(*platform);  // fonts rebuilt, then ImGui's sizes from the last frame
      INFO(mode << " at " << config.width << "x" << config.height << ", text " << scale << "x");
      CHECK_MESSAGE(app.layout_problems().empty(), describe(app.layout_problems()));
      if (const char* dir = std::getenv("ATTNSCOPE_TEST_PNG_DIR")) {
        std::vector<uint8_t> px;
        int w = 0, h = 0;
        const std::string tab =
            mode == "Scaling"    ? std::string("_") + kScalingPanelNames[static_cast<int>(app.ui().scaling.panel)]
            : mode == "Training" ? std::string("_") + kTrainingPanelNames[static_cast<int>(app.ui().training.panel)]
                                 : "";
        const std::string name = mode + tab + "_" + std::to_string(config.width) + "_" +
                                 std::to_string(static_cast<int>(scale * 10)) + ".png";
        if (platform->read_pixels(px, w, h)) write_png(std::string(dir) + "/" + name, px, w, h, &error);
      }
    }
    app.shutdown();
  }
}

// A bare ImGui context (no renderer: the font atlas is built on the CPU) for drawing test windows.
struct BareImGui {
  ImGuiContext* context;
  BareImGui() {
    context = ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = ImVec2(800, 600);
    io.DeltaTime = 1.0f / 60;
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
  }
  ~BareImGui() { ImGui::DestroyContext(context); }
  // One frame running `draw`; the checker's findings after it (three times: ImGui sizes scroll bars from the last
  // frame, and a table sizes its columns the frame before its scroll bars).
  std::vector<LayoutProblem> frame(const std::function<void()>& draw) {
    std::vector<LayoutProblem> problems;
    for (int i = 0; i < 3; ++i) {
      ImGui::NewFrame();
      begin_layout_frame();
      draw();
      ImGui::Render();
      problems = find_layout_problems();
    }
    return problems;
  }
};

bool mentions(const std::vector<LayoutProblem>& problems, const std::string& window, const std::string& what) {
  for (auto& p : problems)
    if (p.window == window && p.what.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("layout: Explore fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("Explore", kTextOne); }
TEST_CASE("layout: Scaling fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("Scaling", kTextOne); }
TEST_CASE("layout: KV cache fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("KV cache", kTextOne); }
TEST_CASE("layout: Lessons fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("Lessons", kTextOne); }
TEST_CASE("layout: Lessons fits with large text") { check_mode_fits("Lessons", kTextLarge); }

// The checker sees windows, items and table cells, not text a panel draws itself on its draw list (the Explore
// heatmap's axis labels and ticks, dl->AddText): those are kept apart by the heatmap's own arithmetic (a square
// of at least 12 text heights, as many ticks as fit, the axis labels' short forms when the long ones do not fit);
// with large text the heatmap panel then scrolls instead of shrinking the picture.
TEST_CASE("layout: Explore fits with large text") { check_mode_fits("Explore", kTextLarge); }
TEST_CASE("layout: FlashAttention fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("FlashAttention", kTextOne); }
TEST_CASE("layout: FlashAttention fits with large text") { check_mode_fits("FlashAttention", kTextLarge); }
TEST_CASE("layout: Sparsity fits at 1280x720 and 1920x1080, text 1x") { check_mode_fits("Sparsity", kTextOne); }
TEST_CASE("layout: Sparsity fits with large text") { check_mode_fits("Sparsity", kTextLarge); }
TEST_CASE("layout: Context parallel fits at 1280x720, 1600x900 and 1920x1080, text 1x, zigzag and plain") {
  check_mode_fits("Context parallel", kTextOne);
  check_mode_fits("Context parallel", kTextOne, [](UiState& ui) {
    ui.ring_view.shown = RingShown::Plain;
    ui.ring_view.request.ranks = 8;
    ui.ring_view.request.n = 512;  // causal (the default): skipped blocks, idle ranks
  });
}
TEST_CASE("layout: Context parallel fits with large text") { check_mode_fits("Context parallel", kTextLarge); }
TEST_CASE("layout: Scaling fits with large text") { check_mode_fits("Scaling", kTextLarge); }
TEST_CASE("layout: Scaling's Timing, Memory and Roofline tabs fit with large text") {
  for (const char* panel : {"Timing", "Memory", "Roofline"}) {
    INFO("tab " << std::string(panel));
    check_mode_fits("Scaling", kTextLarge, [&](UiState& ui) { ui.scaling.requested_panel = panel; });
  }
}
TEST_CASE("layout: KV cache fits with large text") { check_mode_fits("KV cache", kTextLarge); }
TEST_CASE("layout: Training's three tabs fit at 1280x720 and 1600x900, text 1x and 1.5x") {
  const std::vector<Config> sizes = {{1280, 720, {1.0, 1.5}}, {1600, 900, {1.0}}};
  for (const char* panel : kTrainingPanelNames) {
    INFO("tab " << std::string(panel));
    check_mode_fits("Training", sizes, [&](UiState& ui) {
      // A small sweep, so the tab settles in seconds; drawn as the default one is.
      ui.training.sweep_config.lengths = {64, 128, 256};
      ui.training.sweep_config.head_dim = 32;
      ui.training.sweep_configured = true;
      ui.training.requested_panel = panel;
    });
  }
}

TEST_CASE("layout checker: finds text past a window's edge, a label over its field, a cell past its column") {
  BareImGui imgui;
  const ImGuiWindowFlags fixed = ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollbar;
  auto fixed_window = [&](const char* name, ImVec2 pos, ImVec2 size) {
    ImGui::SetNextWindowPos(pos);
    ImGui::SetNextWindowSize(size);
    ImGui::Begin(name, nullptr, fixed);
  };
  SUBCASE("everything fits: no problem") {
    const auto problems = imgui.frame([&] {
      fixed_window("roomy", ImVec2(0, 0), ImVec2(400, 200));
      ImGui::TextUnformatted("short");
      ImGui::Button("ok");
      ImGui::End();
    });
    CHECK_MESSAGE(problems.empty(), describe(problems));
  }
  SUBCASE("text wider than the window, lines below its bottom") {
    const auto problems = imgui.frame([&] {
      fixed_window("narrow", ImVec2(0, 0), ImVec2(120, 80));
      ImGui::TextUnformatted("a line of text far wider than one hundred and twenty pixels");
      for (int i = 0; i < 8; ++i) ImGui::TextUnformatted("row");
      ImGui::End();
    });
    CHECK(mentions(problems, "narrow", "past the right edge"));
    CHECK(mentions(problems, "narrow", "below the bottom edge"));
  }
  SUBCASE("a child window's clipped content is named parent/child") {
    const auto problems = imgui.frame([&] {
      fixed_window("host", ImVec2(0, 0), ImVec2(400, 300));
      ImGui::BeginChild("panel", ImVec2(100, 100), true, ImGuiWindowFlags_NoScrollbar);
      ImGui::Button("a button wider than the child window");
      ImGui::EndChild();
      ImGui::End();
    });
    CHECK(mentions(problems, "host/panel", "past the right edge"));
    CHECK_FALSE(mentions(problems, "host", "past the right edge"));
  }
  SUBCASE("a form label wider than its column") {
    const auto problems = imgui.frame([&] {
      fixed_window("form", ImVec2(0, 0), ImVec2(500, 200));
      static int64_t value = 3;
      int_row("a label much longer than its column", "##v", &value, 1, 40, nullptr);
      ImGui::End();
    });
    CHECK(mentions(problems, "form", "label 'a label much longer than its column' is wider than its column"));
  }
  SUBCASE("a table cell wider than its column") {
    const auto problems = imgui.frame([&] {
      fixed_window("tabled", ImVec2(0, 0), ImVec2(300, 200));
      if (ImGui::BeginTable("t", 2, ImGuiTableFlags_SizingStretchSame)) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted("a cell that cannot fit in half of the table");
        ImGui::TableNextColumn();
        ImGui::TextUnformatted("b");
        ImGui::EndTable();
      }
      ImGui::End();
    });
    CHECK(mentions(problems, "tabled", "table column 1"));
    CHECK_FALSE(mentions(problems, "tabled", "table column 2"));
  }
  SUBCASE("a table that scrolls sideways shows the rest of its columns: not clipped") {
    const auto problems = imgui.frame([&] {
      fixed_window("scrolled_table", ImVec2(0, 0), ImVec2(200, 200));
      if (ImGui::BeginTable("t", 2, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX, ImVec2(0, 120))) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted("a cell far wider than the two hundred pixel window");
        ImGui::TableNextColumn();
        ImGui::TextUnformatted("b");
        ImGui::EndTable();
      }
      ImGui::End();
    });
    CHECK_MESSAGE(problems.empty(), describe(problems));
  }
  SUBCASE("a scroll bar shows the rest: not clipped") {
    const auto problems = imgui.frame([&] {
      ImGui::SetNextWindowPos(ImVec2(0, 0));
      ImGui::SetNextWindowSize(ImVec2(200, 80));
      ImGui::Begin("scrolling", nullptr, ImGuiWindowFlags_NoSavedSettings);
      for (int i = 0; i < 20; ++i) ImGui::TextUnformatted("row");
      ImGui::End();
    });
    CHECK_FALSE(mentions(problems, "scrolling", "below the bottom edge"));
  }
}

TEST_CASE("layout helpers: shared heights keep minimums, text is cut on a character with an ellipsis") {
  SUBCASE("share_length: in proportion, minimums kept, parts add up") {
    const auto even = share_length(300, {1, 2}, {0, 0});
    CHECK(even[0] == doctest::Approx(100));
    CHECK(even[1] == doctest::Approx(200));
    const auto kept = share_length(300, {1, 9}, {100, 0});  // 30 in proportion, raised to its minimum
    CHECK(kept[0] == doctest::Approx(100));
    CHECK(kept[1] == doctest::Approx(200));
    const auto squeezed = share_length(100, {1, 1}, {100, 300});  // the minimums do not fit: scaled down
    CHECK(squeezed[0] == doctest::Approx(25));
    CHECK(squeezed[1] == doctest::Approx(75));
    for (const auto& parts : {even, kept, squeezed})
      CHECK(std::accumulate(parts.begin(), parts.end(), 0.0f) == doctest::Approx(parts == squeezed ? 100 : 300));
  }
  SUBCASE("fit_with_ellipsis and first_that_fits in a real font") {
    BareImGui imgui;
    ImGui::NewFrame();
    const char* text = "N = 1024 · d = 64 · mask dense";
    CHECK(fit_with_ellipsis(text, 10000) == text);
    const float width = ImGui::CalcTextSize(text).x / 2;
    const std::string cut = fit_with_ellipsis(text, width);
    CHECK(cut.size() < std::string(text).size());
    CHECK(cut.substr(cut.size() - 3) == "\xE2\x80\xA6");
    CHECK(ImGui::CalcTextSize(cut.c_str()).x <= width);
    const std::string tiny = fit_with_ellipsis("·····", 1);  // no whole character fits: the ellipsis alone
    CHECK(tiny == "\xE2\x80\xA6");
    const float short_w = ImGui::CalcTextSize("short").x;
    CHECK(first_that_fits({"a much longer label", "short", "s"}, short_w) == 1);
    CHECK(first_that_fits({"a much longer label", "short"}, 10000) == 0);
    CHECK(first_that_fits({"a much longer label", "short"}, 1) == 1);
    ImGui::EndFrame();
  }
}

// Beyond attention: each of its four tabs at 1280x720, 1600x900 and 1920x1080, with small measurements.
TEST_CASE("layout: Beyond attention's four tabs fit at 1280x720, 1600x900 and 1920x1080, text 1x") {
  for (const char* panel : kBeyondPanelNames) {
    INFO("tab " << std::string(panel));
    check_mode_fits("Beyond attention", kTextOne, [&](UiState& ui) {
      BeyondViewState& b = ui.beyond;
      configure_beyond(b, AttentionSpec{}, BackendCapabilities{});
      b.sweep_config.lengths = {64, 128, 256};
      b.sweep_config.window = 16;
      b.sweep_config.repetitions = 1;
      b.sweep_config.min_timed_s = 0.005;
      b.layer_config.lengths = {64, 128, 256};
      b.layer_config.repetitions = 1;
      b.decode_config.max_context = 256;
      b.decode_config.repetitions = 1;
      b.requested_panel = panel;
    });
  }
}
