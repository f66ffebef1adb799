// test_capture.cpp — figures and screenshots end to end: a plot drawn in a real frame publishes a figure holding
// every series (the SVG parses as XML and has one series group per plot item, the CSV every point); exports to a
// missing folder or with a wrong extension say why; `attnscope render --figure` writes the Scaling plot's SVG and
// the heatmap's PNG at one pixel per cell; a screenshot's sidecar draws the same pixels again and its PNG text
// chunk reads back; --render-scale 2 doubles the pixels.
#include <doctest/doctest.h>

#include <backends/imgui_impl_opengl3.h>
#include <glad/gl.h>
#include <imgui.h>
#include <tinyxml2.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "app/cli/backends.hpp"
#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/capture/screenshot.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/capture/png_file.hpp"
#include "app/gui/capture/sidecar.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/plot/plot.hpp"
#include "tests/common/test_util.hpp"

using namespace attnscope::gui;

namespace {

using attnscope::test::CommandResult;

CommandResult run_attnscope(const std::string& args) {
  const CommandResult r = attnscope::test::run_command(std::string("'") + ATTNSCOPE_BINARY + "' " + args);
  REQUIRE(r.started);
  return r;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The labels of the SVG's series groups (<g class="series" data-label=...>), one entry per group.
std::vector<std::string> svg_series_labels(const std::string& svg) {
  tinyxml2::XMLDocument doc;
  REQUIRE(doc.Parse(svg.c_str()) == tinyxml2::XML_SUCCESS);
  std::vector<std::string> labels;
  std::vector<const tinyxml2::XMLElement*> stack{doc.RootElement()};
  while (!stack.empty()) {
    const tinyxml2::XMLElement* e = stack.back();
    stack.pop_back();
    if (std::string(e->Name()) == "g" && e->Attribute("class") && std::string(e->Attribute("class")) == "series")
      labels.emplace_back(e->Attribute("data-label"));
    for (auto* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) stack.push_back(c);
  }
  return labels;
}

}  // namespace

TEST_CASE("capture: a plot drawn in a frame publishes a figure with every series; SVG and CSV hold them all") {
  std::string error;
  auto platform = create_headless_platform(800, 500, &error);
  REQUIRE_MESSAGE(platform != nullptr, error);
  ImGui::CreateContext();
  platform->imgui_init();
  REQUIRE(ImGui_ImplOpenGL3_Init("#version 330 core"));
  const std::vector<double> n = {256, 512, 1024, 2048, 4096}, naive = {0.1, 0.4, 1.6, 6.4, 25.6},
                            flash = {0.08, 0.3, 1.1, 4.5, 17}, err = {0.01, 0.02, 0.1, 0.3, 1}, oom_x = {8192},
                            oom_y = {60};
  for (int frame = 0; frame < 2; ++frame) {
    platform->imgui_new_frame();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(800, 500));
    ImGui::Begin("capture test", nullptr, ImGuiWindowFlags_NoDecoration);
    REQUIRE(plot::BeginPlot("Time against N##capture_test", ImVec2(-1, -1)));
    plot::SetupAxis(plot::Axis::X, "N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "time (ms)", plot::Scale::Log10);
    plot::PlotLine("naive", n, naive, plot::ItemStyle{.marker = plot::Marker::Circle});
    plot::PlotErrorBars("naive", n, naive, err, err);
    plot::PlotLine("flash", n, flash, plot::ItemStyle{.dashed = true});
    plot::PlotScatter("out of memory", oom_x, oom_y, plot::ItemStyle{.marker = plot::Marker::Diamond});
    plot::PlotText("O(N²)", 2048, 6.4);
    plot::EndPlot();
    ImGui::End();
    ImGui::Render();
    platform->bind_target();
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    platform->end_frame();
  }
  const capture::ExportSource* source = capture::find_source("capture-test");
  REQUIRE(source != nullptr);
  CHECK(source->frame == ImGui::GetFrameCount());
  CHECK(source->title == "Time against N");
  const int items = plot::LastPlotGeometry().items;
  const capture::Figure figure = source->figure();
  REQUIRE(static_cast<int>(figure.series.size()) == items);
  CHECK(items == 4);
  CHECK(figure.x.log10);
  CHECK(figure.x.label == "N (tokens)");
  CHECK(figure.series[2].dashed);
  CHECK(figure.series[3].marker == capture::FigureMarker::Diamond);
  CHECK(figure.series[1].kind == capture::FigureSeries::Kind::ErrorBars);
  REQUIRE(figure.texts.size() == 1);
  // The ticks shown on screen, labelled: the decades 10³ (1000) at least.
  bool thousand = false;
  for (auto& t : figure.x.ticks) thousand |= t.value == 1000 && !t.label.empty();
  CHECK(thousand);

  const std::string svg = capture::figure_to_svg(figure);
  const auto labels = svg_series_labels(svg);
  CHECK(static_cast<int>(labels.size()) == items);  // one group per plot item
  CHECK(std::set<std::string>(labels.begin(), labels.end()) == std::set<std::string>{"naive", "flash", "out of memory"});
  CHECK(svg.find(">O(N²)</text>") != std::string::npos);  // text stays text

  const std::string csv = capture::figure_to_csv(figure);
  int lines = 0;
  for (char c : csv) lines += c == '\n';
  CHECK(lines == 1 + 5 + 5 + 5 + 1);
  CHECK(csv.find("flash,4096,17,,,\n") != std::string::npos);
  CHECK(csv.find("naive,1024,1.6000000000000001,0.10000000000000001,0.10000000000000001,\n") != std::string::npos);

  // Exports: a folder that does not exist, a format the figure does not have, then a good one.
  const auto dir = attnscope::test::fresh_dir("capture_export");
  std::string e = capture::export_source(*source, (dir / "missing" / "x.svg").string());
  CHECK(e.find("does not exist") != std::string::npos);
  CHECK(e.find("missing") != std::string::npos);
  e = capture::export_source(*source, (dir / "x.png").string());
  CHECK(e.find(".svg, .csv") != std::string::npos);
  CHECK(capture::export_source(*source, (dir / "x.svg").string()).empty());
  CHECK(read_text(dir / "x.svg") == svg);
  CHECK(capture::export_source(*source, (dir / "x.csv").string()).empty());
  CHECK(read_text(dir / "x.csv") == csv);
  CHECK(attnscope::test::entries(dir) == 2);
  CHECK(capture::default_export_name(source->id, "svg") == "attnscope-capture-test.svg");

  capture::clear_sources();
  ImGui_ImplOpenGL3_Shutdown();
  platform->imgui_shutdown();
  ImGui::DestroyContext();
}

TEST_CASE("capture: figure ids from plot titles") {
  CHECK(capture::figure_id_from_title("Time of one call##sweep_time") == "sweep-time");
  CHECK(capture::figure_id_from_title("Roofline") == "roofline");
  CHECK(capture::figure_id_from_title("softmax of the row: exact vs m, l") == "softmax-of-the-row-exact-vs-m-l");
  CHECK(capture::figure_id_from_title("##") == "figure");
}

TEST_CASE("capture: render --figure writes the Scaling plot's SVG and the heatmap at one pixel per cell") {
  const auto dir = attnscope::test::fresh_dir("capture_render");
  // The Scaling sweep (its default range with the CPU's time cap): listed and exported in one run, it takes ~20 s.
  const auto svg_path = dir / "attnscope-sweep-time.svg";
  const auto r = run_attnscope("render --mode Scaling --panel Scaling --n 256 --list-figures --figure sweep-time --out '" +
                               svg_path.string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find("sweep-time") != std::string::npos);
  CHECK(r.output.find("sweep-mem") != std::string::npos);
  const auto labels = svg_series_labels(read_text(svg_path));
  bool naive = false, flash = false;
  for (auto& l : labels) {
    naive |= l.rfind("naive", 0) == 0;
    flash |= l.rfind("flash", 0) == 0;
  }
  CHECK(naive);
  CHECK(flash);

  // The Gantt (drawn by hand, exported from the trace) as CSV: a bar per CTA, with where it ends.
  const auto csv = run_attnscope("render --mode FlashAttention --n 256 --figure gantt --out '" + (dir / "g.csv").string() + "'");
  REQUIRE_MESSAGE(csv.status == 0, csv.output);
  const std::string gantt = read_text(dir / "g.csv");
  CHECK(gantt.rfind("series,\"time since the first tile started (", 0) == 0);  // quoted: the label has a comma
  CHECK(gantt.find("head 0, even Q tiles") != std::string::npos);

  // Unknown id: the choices are named, nothing is written.
  const auto bad = run_attnscope("render --mode FlashAttention --n 256 --figure nope --out '" + (dir / "n.svg").string() + "'");
  CHECK(bad.status != 0);
  CHECK(bad.output.find("gantt") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "n.svg"));

  // The heatmap at N = 300: the image is computed 1:1 (300 x 300 cells), the PNG has exactly that many pixels.
  const auto png_path = dir / "heatmap.png";
  const auto h = run_attnscope("render --n 300 --mask window:32 --figure heatmap --out '" + png_path.string() + "'");
  REQUIRE_MESSAGE(h.status == 0, h.output);
  capture::DecodedPng png;
  std::string error;
  REQUIRE_MESSAGE(capture::read_png_file(png_path.string(), &png, &error), error);
  CHECK(png.width == 300);
  CHECK(png.height == 300);
  // Far outside the window: masked grey; on the diagonal: a colour from the map (not grey).
  const auto px = [&](int x, int y) { return std::array<int, 3>{png.rgba[(y * 300 + x) * 4], png.rgba[(y * 300 + x) * 4 + 1], png.rgba[(y * 300 + x) * 4 + 2]}; };
  CHECK(px(299, 0) == std::array<int, 3>{72, 72, 78});
  CHECK(px(150, 150) != std::array<int, 3>{72, 72, 78});
  const auto frame = run_attnscope("render --n 300 --mask window:32 --figure heatmap --out '" + (dir / "heatmap.svg").string() + "'");
  REQUIRE_MESSAGE(frame.status == 0, frame.output);
  tinyxml2::XMLDocument doc;
  CHECK(doc.Parse(read_text(dir / "heatmap.svg").c_str()) == tinyxml2::XML_SUCCESS);
  CHECK(read_text(dir / "heatmap.svg").find("data:image/png;base64,") != std::string::npos);
  CHECK(read_text(dir / "heatmap.svg").find("key position k (token index)") != std::string::npos);
}

TEST_CASE("capture: a screenshot's sidecar draws the same pixels again; the PNG carries it as a text chunk") {
  const auto dir = attnscope::test::fresh_dir("capture_sidecar");
  const auto first = dir / "shot.png";
  // --target view: the mode's body, without the status bar's measured frame time.
  const auto a = run_attnscope("render --n 256 --mask window:32 --zoom 0,0,128,128 --overlay tiles --size 800x480 "
                               "--target view --sidecar --out '" + first.string() + "'");
  REQUIRE_MESSAGE(a.status == 0, a.output);
  REQUIRE(std::filesystem::exists(dir / "shot.json"));
  capture::CaptureSidecar sidecar;
  std::vector<std::string> errors;
  REQUIRE(capture::sidecar_from_json(read_text(dir / "shot.json"), "shot.json", &sidecar, &errors));
  CHECK(sidecar.mode == "Explore");
  CHECK(sidecar.experiment.n == 256);
  CHECK(sidecar.experiment.mask == "window:32");
  REQUIRE(sidecar.zoom.has_value());
  CHECK(*sidecar.zoom == std::array<int64_t, 4>{0, 0, 128, 128});
  CHECK(sidecar.overlays == std::vector<std::string>{"tiles"});
  CHECK(sidecar.target == "view");
  CHECK(sidecar.width == 800);

  capture::DecodedPng shot;
  std::string error;
  REQUIRE_MESSAGE(capture::read_png_file(first.string(), &shot, &error), error);
  std::string chunk;
  for (auto& [key, text] : shot.texts)
    if (key == capture::kPngTextKey) chunk = text;
  CHECK(chunk == read_text(dir / "shot.json"));

  const auto again = dir / "again.png";
  const auto b = run_attnscope("render --config '" + (dir / "shot.json").string() + "' --out '" + again.string() + "'");
  REQUIRE_MESSAGE(b.status == 0, b.output);
  capture::DecodedPng redrawn;
  REQUIRE_MESSAGE(capture::read_png_file(again.string(), &redrawn, &error), error);
  CHECK(redrawn.width == shot.width);
  CHECK(redrawn.height == shot.height);
  CHECK(redrawn.rgba == shot.rgba);

  // At 2x: twice the pixels each way (the view's rectangle may round by a pixel).
  const auto twice = dir / "twice.png";
  const auto c = run_attnscope("render --config '" + (dir / "shot.json").string() + "' --render-scale 2 --out '" + twice.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  capture::DecodedPng big;
  REQUIRE_MESSAGE(capture::read_png_file(twice.string(), &big, &error), error);
  CHECK(std::abs(big.width - 2 * shot.width) <= 2);
  CHECK(std::abs(big.height - 2 * shot.height) <= 2);

  // A broken sidecar is reported by name; an unwritable output path too.
  std::ofstream(dir / "broken.json") << R"({"kind": "attnscope capture", "experiment": {"n": 256}, "scale": 3})";
  const auto broken = run_attnscope("render --config '" + (dir / "broken.json").string() + "' --out '" + (dir / "x.png").string() + "'");
  CHECK(broken.status != 0);
  CHECK(broken.output.find("broken.json") != std::string::npos);
  CHECK(broken.output.find("/scale") != std::string::npos);
  const auto nowhere = run_attnscope("render --n 64 --out '" + (dir / "no" / "x.png").string() + "'");
  CHECK(nowhere.status != 0);
  CHECK(nowhere.output.find("does not exist") != std::string::npos);
}

TEST_CASE("capture: F12's path in the app: drawn again off-screen at 2x with the fonts at 2x, then the window as before") {
  std::string error;
  auto platform = create_headless_platform(640, 360, &error);
  REQUIRE_MESSAGE(platform, error);
  attnscope::ExperimentConfig config;
  config.n = 128;
  config.mask = "window:16";
  App app(config, attnscope::app::make_backend("cpu", &error));
  REQUIRE_MESSAGE(app.init(*platform, &error), error);
  const auto start = std::chrono::steady_clock::now();
  while (!app.settled() || app.frames_drawn() < 3) {
    app.frame(*platform);
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  app.frame(*platform);
  const float window_font = app.ui().font_px;
  std::vector<uint8_t> before;
  int w = 0, h = 0;
  REQUIRE(platform->read_pixels(before, w, h));

  const auto dir = attnscope::test::fresh_dir("capture_in_app");
  const auto path = dir / "shot.png";
  capture::request_screenshot(path.string(), "window", 2);
  app.frame(*platform);  // the frame, then the capture's three off-screen frames
  INFO(capture::last_screenshot_message());
  capture::DecodedPng shot;
  REQUIRE_MESSAGE(capture::read_png_file(path.string(), &shot, &error), error);
  CHECK(shot.width == 1280);
  CHECK(shot.height == 720);
  capture::CaptureSidecar sidecar;
  std::vector<std::string> errors;
  REQUIRE(capture::sidecar_from_json(read_text(dir / "shot.json"), "shot.json", &sidecar, &errors));
  CHECK(sidecar.scale == 2);
  CHECK(sidecar.width == 640);
  CHECK(sidecar.experiment.n == 128);

  // Back to the window: render scale 1, the fonts at the window's size, the same picture in the window.
  CHECK(app.ui().render_scale == 1.0f);
  app.frame(*platform);
  CHECK(app.ui().font_px == window_font);
  std::vector<uint8_t> after;
  REQUIRE(platform->read_pixels(after, w, h));
  CHECK(w == 640);
  // Mostly the same pixels (the status bar's frame time may differ).
  size_t same = 0;
  for (size_t i = 0; i < before.size() && i < after.size(); i += 4) same += before[i] == after[i] && before[i + 1] == after[i + 1];
  CHECK(same > before.size() / 4 * 95 / 100);

  // Asking for a folder that does not exist: the message says so, the app goes on.
  capture::request_screenshot((dir / "missing" / "x.png").string(), "window", 1);
  app.frame(*platform);
  CHECK(capture::last_screenshot_message().find("does not exist") != std::string::npos);
  app.frame(*platform);
  CHECK_FALSE(app.failed());
  app.shutdown();
}
