// cmd_render.cpp — `attnscope render`: the same UI as the window, drawn headless through EGL into a PNG.
// Waits until the worker's result for the requested experiment is on screen, then captures the frame.
#include <glad/gl.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include <unistd.h>

#include "app/cli/args.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/experiment_flags.hpp"
#include "app/gui/capture/screenshot.hpp"
#include "app/gui/capture/sidecar.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/shell/experiment_args.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/recording/render_scene.hpp"
#include "app/gui/views/lesson/model.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "core/atomic_file.hpp"
#include "core/json_check.hpp"
#include "core/lesson.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kName = "render";

std::string render_help() {
  return std::string(
             "attnscope render --out FILE.png [--size WxH] [--render-scale 1|2|4] [--config FILE.json | experiment flags]\n"
             "attnscope render --figure ID --out FILE.svg|FILE.csv|FILE.png [--mode ...]   one figure of the view\n"
             "attnscope render --list-figures [--mode ...]                                   the figures of the view\n"
             "attnscope render --scene SCENE.json --out DIR|FILE.mp4|FILE.gif|FILE.png [--fps F]\n\n"
             "Draws the app's UI headless (EGL, no display needed: Mesa's software renderer or NVIDIA) and writes\n"
             "the frame as a PNG once the picture for the experiment has been computed.\n\n"
             "  --out FILE.png          where to write the PNG (required)\n"
             "  --size WxH              image size in pixels, 16..16384 each    default 1280x720\n"
             "  --backend cpu|cuda      backend that computes the picture        default cpu\n"
             "  --mode NAME             the tab to draw (Explore, FlashAttention, ...)  default Explore\n"
             "  --panel NAME            with --mode Scaling: Scaling, Timing, Memory or Roofline; with --mode\n"
             "                          Training: \"Memory and time\", Sweep or \"Backward loop\"; with --mode\n"
             "                          \"Beyond attention\": Time and memory, Layer breakdown, Decode or\n"
             "                          Approximation\n"
             "  --flash-view OPTIONS    with --mode FlashAttention: the replay to show, any of\n"
             "                          order=flash|flash1|block-sparse|flash-tc, at=F (paused at F of the run),\n"
             "                          table=counters|versions (naive against the order, or FA-1 → FA-3),\n"
             "                          br=, bc=, row=, unit=, speed=   e.g. --flash-view order=flash-tc,at=0.5\n"
             "  --render-scale 1|2|4    draw at 2x or 4x the size with the text rasterised at that size (the layout of\n"
             "                          --size, the pixels of WxH times the scale)   default 1\n"
             "  --target NAME           crop to one element or figure (view, a figure id); default the window\n"
             "  --sidecar               also write FILE.json beside the PNG: the experiment and the view, which\n"
             "                          `render --config FILE.json` draws again (the PNG carries it as a text chunk too)\n"
             "  --config SIDECAR.json   a screenshot's sidecar: its experiment, mode, panel, view, size and scale\n"
             "                          (flags given here override it)\n"
             "  --figure ID             write one figure of the view instead of the window: .svg (vector), .csv (every\n"
             "                          point), .png (heatmaps: one pixel per cell); --list-figures names them\n"
             "  --lesson FILE.json      draw a lesson's step (with --step K, from 1; default 1): its mode, experiment\n"
             "                          and view, once its runs are measured and its placeholders filled\n"
             "  --step K                the lesson's step to draw, 1..steps\n"
             "  --layout FILE.json      also write where the heatmap and colour bar were drawn (pixels)\n"
             "  --theme dark|light      colours: dark high-contrast or light for print   default dark\n"
             "  --colormap NAME         the heatmap's colours: viridis or cividis         default viridis\n"
             "  --font-scale F          text size, 0.5..4 (as Ctrl + / Ctrl − in the app) default 1\n"
             "                          (anything drawn clipped at this size and scale is printed as a\n"
             "                          line 'attnscope render: layout: WINDOW: WHAT')\n"
             "                          (user settings are never read: a render depends on its flags only)\n"
             "  --time-frames K         after capturing, draw K more frames and print frames per second, 0..100000\n"
             "  --timeout SECONDS       give up when the picture takes longer, 0.1..86400   default 600\n"
             "  --soak FRAMES           after capturing, draw FRAMES more frames, 1..10000000, submitting the\n"
             "                          experiment again with the next seed every --soak-rerun frames (the kernels run\n"
             "                          again), and print host memory (RSS) and device memory every --soak-sample\n"
             "                          frames as lines 'soak frame F rss_bytes R device_used_bytes D' (scripts/soak.sh)\n"
             "  --soak-rerun K          frames between re-runs, 1..1000000                default 50\n"
             "  --soak-sample K         frames between memory samples, 1..1000000        default 100\n\n") +
         gui::heatmap_flags_help() + std::string("\n") + gui::render_scene_help() + "\n" + experiment_flags_help() +
         "\n\nexample: attnscope render --n 1024 --mask window:64+global:8 --causal --out x.png\n\n"
         "Exit status: 0 written; 1 the render failed (no EGL/OpenGL, the picture failed or timed out, a write\n"
         "failed: the message names it); 2 usage error (unknown flag, bad value, an invalid experiment).";
}

// The process's resident set (host memory in use), from /proc/self/statm; 0 where it cannot be read.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// `--soak`: `frames` more frames; every `rerun` frames the experiment is submitted again with the next seed (new
// inputs, so the backend computes the picture again rather than reusing it), and every `sample` frames one line
// gives the frame, the host RSS and the device memory in use (-1 for a backend whose memory is the host's). scripts/soak.sh reads these lines and judges whether memory stayed flat.
int soak(gui::App& app, gui::Platform& platform, int64_t frames, int64_t rerun, int64_t sample) {
  const uint64_t first_seed = app.ui().draft.seed;
  int64_t reruns = 0;
  for (int64_t f = 1; f <= frames; ++f) {
    if (f % rerun == 0 && !app.state().computing) {
      app.ui().draft.seed = first_seed + static_cast<uint64_t>(++reruns);
      app.ui().request(gui::UiCommand::ApplyDraft);
    }
    app.frame(platform);
    if (f % sample == 0 || f == frames) {
      // The status bar's last memory answer (asked on the worker every few seconds); a device's only.
      const std::optional<MemoryInfo>& device = app.ui().scaling.memory.info;
      const bool on_device = app.state().capabilities.memory == BackendCapabilities::Memory::Device;
      const long long device_used = on_device && device && device->known && device->total_bytes > 0
                                        ? static_cast<long long>(device->total_bytes - device->free_bytes) : -1;
      std::printf("soak frame %lld rss_bytes %llu device_used_bytes %lld reruns %lld\n", static_cast<long long>(f),
                  static_cast<unsigned long long>(resident_bytes()), device_used, static_cast<long long>(reruns));
      std::fflush(stdout);
    }
    if (app.failed() && !app.state().computing) {
      for (auto& e : app.state().errors) std::cerr << "attnscope render: --soak: " << e << "\n";
      return 1;
    }
  }
  return 0;
}

int fail(const std::string& message) {
  std::cerr << "attnscope render: " << message << "\n";
  return 1;  // the command failed (usage errors return 2 through report_errors)
}

// --config naming a capture sidecar: its view becomes flags (those not given on the command line) and its
// experiment the base config; any other --config is left to the experiment flags.
struct SidecarArgs {
  std::vector<std::string> argv;
  ExperimentConfig base;
  std::vector<std::string> errors;
};
SidecarArgs expand_sidecar(const std::vector<std::string>& argv, const std::vector<std::string>& booleans) {
  SidecarArgs out{argv, {}, {}};
  const Args given(argv, booleans);
  const auto path = given.get("--config");
  if (!path) return out;
  // Bounded read (a folder, /dev/zero or a huge file is not read here; the experiment flags report it by name).
  std::string text;
  std::vector<std::string> unread;
  if (!read_bounded_file(*path, kMaxConfigBytes, "config", text, unread) || !gui::capture::looks_like_sidecar(text))
    return out;
  gui::capture::CaptureSidecar sidecar;
  if (!gui::capture::sidecar_from_json(text, *path, &sidecar, &out.errors)) return out;
  out.base = sidecar.experiment;
  out.argv.clear();
  const std::vector<std::string> flags = gui::capture::sidecar_render_flags(sidecar);
  for (size_t i = 0; i + 1 < flags.size(); i += 2)
    if (!given.has(flags[i])) out.argv.insert(out.argv.end(), {flags[i], flags[i + 1]});
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--config") { ++i; continue; }
    if (argv[i].rfind("--config=", 0) == 0) continue;
    out.argv.push_back(argv[i]);
  }
  return out;
}

int run_render(const std::vector<std::string>& raw_argv) {
  for (const auto& a : raw_argv)  // a scene: frames on a fixed time step, to a video or PNG sequence
    if (a == "--scene" || a.rfind("--scene=", 0) == 0) return gui::render_scene_command(raw_argv);
  std::vector<std::string> booleans = experiment_boolean_flags();
  booleans.insert(booleans.end(), {"--sidecar", "--list-figures"});
  SidecarArgs expanded = expand_sidecar(raw_argv, booleans);
  if (!expanded.errors.empty()) return report_errors(kName, expanded.errors);
  Args args(expanded.argv, booleans);
  std::vector<std::string> known = experiment_flag_names();
  for (const char* f : {"--mode", "--panel", "--flash-view", "--out", "--size", "--backend", "--layout", "--time-frames",
                        "--timeout", "--render-scale", "--target", "--sidecar", "--figure", "--list-figures", "--theme",
                        "--colormap", "--font-scale", "--lesson", "--step", "--soak", "--soak-rerun", "--soak-sample"})
    known.push_back(f);
  int width = 1280, height = 720;
  std::vector<std::string> errors;
  if (auto size = args.get("--size")) {
    std::string error;
    if (!gui::parse_size(*size, &width, &height, &error)) errors.push_back(error);
  }
  // Integers and reals through the command line's parser: overflow and range reported as the other commands do.
  const int64_t time_frames = args.get_int("--time-frames", 0, 0, 100000);
  const double timeout_s = args.get_real("--timeout", 600, 0.1, 86400);
  const int64_t soak_frames = args.get_int("--soak", 0, 1, 10'000'000);
  const int64_t soak_rerun = args.get_int("--soak-rerun", 50, 1, 1'000'000);
  const int64_t soak_sample = args.get_int("--soak-sample", 100, 1, 1'000'000);
  gui::LaunchSetup setup = gui::prepare_launch(args, expanded.base);
  const int scale = static_cast<int>(args.get_int("--render-scale", 1, 1, 4));
  if (scale == 3) errors.push_back("--render-scale '3': use 1, 2 or 4");
  if (width * scale > 16384 || height * scale > 16384)
    errors.push_back("--size x --render-scale is " + std::to_string(width * scale) + "x" + std::to_string(height * scale) +
                     ": at most 16384 pixels each way");
  const std::string target = args.get_or("--target", "window");
  const auto figure = args.get("--figure");
  const bool list_figures = args.has("--list-figures");
  gui::HeatmapViewState heatmap_view;  // --zoom, --overlay, --tile-size, --show-algorithm
  gui::apply_heatmap_flags(args, heatmap_view, &errors);
  gui::FlashViewState flash_view;  // --flash-view: the FlashAttention replay (order, instant, tiles, row, unit)
  const std::string flash_options = args.get_or("--flash-view", "");
  for (auto& problem : flash_view.apply_options(flash_options)) errors.push_back("--flash-view: " + problem);
  for (auto& f : gui::heatmap_flag_names()) known.push_back(f);
  for (auto& e : setup.errors) errors.push_back(e);
  for (auto& e : setup.spec_errors) errors.push_back(e);
  const auto out = args.get("--out");
  if (!out && !list_figures) errors.push_back("--out FILE.png is required (where to write the image)");
  // Presentation: from flags only, never from the user's settings file (renders must be reproducible).
  Theme theme = Theme::Dark;
  if (auto t = args.get("--theme")) {
    if (*t == "light") theme = Theme::Light;
    else if (*t != "dark") errors.push_back("--theme '" + *t + "': choose dark or light");
  }
  gui::ColormapKind colormap = gui::ColormapKind::Viridis;
  if (auto c = args.get("--colormap"); c && !gui::parse_colormap(*c, &colormap))
    errors.push_back("--colormap '" + *c + "': choose viridis or cividis");
  const double font_scale = args.get_real("--font-scale", 1.0, 0.5, 4.0);
  const std::string mode = args.get_or("--mode", "");
  const std::string panel = args.get_or("--panel", "");
  if (!panel.empty()) {
    bool known_panel = false;
    for (const char* name : gui::kScalingPanelNames) known_panel |= mode == "Scaling" && panel == name;
    for (const char* name : gui::kTrainingPanelNames) known_panel |= mode == "Training" && panel == name;
    for (const char* name : gui::kBeyondPanelNames) known_panel |= mode == "Beyond attention" && panel == name;
    if (!known_panel)
      errors.push_back("--panel '" + panel + "': use with --mode Scaling (Scaling, Timing, Memory, Roofline), "
                       "--mode Training (\"Memory and time\", Sweep, \"Backward loop\") or --mode \"Beyond "
                       "attention\" (\"Time and memory\", \"Layer breakdown\", Decode, Approximation)");
  }
  if (!mode.empty()) {
    const auto names = gui::mode_names();
    if (std::find(names.begin(), names.end(), mode) == names.end()) {
      std::string list;
      for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
      errors.push_back("--mode '" + mode + "' is not a mode; modes: " + list);
    }
  }
  // A lesson's step: loaded now, so a broken file is reported by name and line before anything starts.
  std::optional<Lesson> lesson;
  const int64_t lesson_step = args.get_int("--step", 1, 1, 1'000'000);
  if (auto lesson_file = args.get("--lesson")) {
    LessonLoad load = load_lesson_file(*lesson_file, gui::app_lesson_vocabulary());
    for (auto& e : load.errors) errors.push_back(e);
    lesson = std::move(load.lesson);
    if (lesson && (lesson_step < 1 || lesson_step > static_cast<int64_t>(lesson->steps.size())))
      errors.push_back("--step " + std::to_string(lesson_step) + ": '" + *lesson_file + "' has steps 1.." +
                       std::to_string(lesson->steps.size()));
  } else if (args.get("--step")) {
    errors.push_back("--step needs --lesson FILE.json");
  }
  // After every flag was read: the parser's errors include each typed getter's (ranges, whole numbers).
  for (auto& e : args.errors(known)) errors.push_back(e);
  if (!errors.empty()) return report_errors(kName, errors);

  if (out) {
    const std::filesystem::path out_path(*out);
    const auto dir = out_path.has_parent_path() ? out_path.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      return fail("cannot write '" + *out + "': directory '" + dir.string() + "' does not exist");
  }

  std::string error;
  auto platform = gui::create_headless_platform(width * scale, height * scale, &error);
  if (!platform) return fail(error);
  int status = 0;
  {
    gui::App app(setup.config, std::move(setup.backend));
    app.presenter().set_theme(theme);
    app.presenter().set_colormap(colormap);
    app.ui().font_scale = font_scale;
    app.ui().render_scale = static_cast<float>(scale);  // fonts rasterised at the scale from the first frame
    if (!app.init(*platform, &error)) return fail(error);
    app.ui().requested_mode = mode;
    app.ui().scaling.requested_panel = mode == "Scaling" ? panel : "";
    app.ui().training.requested_panel = mode == "Training" ? panel : "";
    app.ui().beyond.requested_panel = mode == "Beyond attention" ? panel : "";
    app.ui().heatmap_view = heatmap_view;
    app.ui().flash.apply_options(flash_options);
    if (lesson) {
      app.ui().lesson.lesson = std::move(lesson);
      gui::go_to_step(app.ui().lesson, static_cast<int>(lesson_step - 1));
    }
    // A lesson's step is ready when it has been applied and its run measured (or refused, with the reason).
    auto lesson_ready = [&app] { return !app.ui().lesson.open() || gui::lesson_step_ready(app.ui().lesson); };
    const auto start = std::chrono::steady_clock::now();
    // Until the picture and every task the shown view started are done (at least a few frames in, so
    // a view has had the chance to start its tasks).
    while (!app.settled() || !lesson_ready() || app.frames_drawn() < 3) {
      app.frame(*platform);
      if (app.failed() && !app.state().computing) {
        for (auto& e : app.state().errors) std::cerr << "attnscope render: " << e << "\n";
        app.shutdown();
        return 2;
      }
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) {
        app.shutdown();
        return fail("the picture was not computed within --timeout " + std::to_string(timeout_s) + " s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // ImGui sizes some items from the previous frame: draw a few frames so the layout has settled.
    for (int i = 0; i < 3; ++i) app.frame(*platform);
    // Whatever the last frame clipped: one line each, so whoever renders sees it (the PNG is written anyway).
    for (const gui::LayoutProblem& problem : app.layout_problems())
      std::cerr << "attnscope render: layout: " << problem.window << ": " << problem.what << "\n";
    if (app.ui().lesson.open()) {
      const gui::LessonViewState& view = app.ui().lesson;
      std::vector<std::string> problems;
      if (!view.run_error.empty()) problems.push_back("the step's run failed: " + view.run_error);
      for (auto& name : gui::unfilled_placeholders(view)) problems.push_back("placeholder {" + name + "} is not filled");
      if (!problems.empty()) {
        app.shutdown();
        std::string text = view.lesson->source + " step " + std::to_string(view.step + 1) + ": ";
        for (size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
        return fail(text);
      }
    }
    if (list_figures) std::cout << gui::capture::list_current_figures();
    if (figure && out) {
      error = gui::capture::export_current_figure(*figure, *out);
      app.shutdown();
      if (!error.empty()) return fail(error);
      std::cout << "wrote " << *out << " (figure " << *figure << ")\n";
      return 0;
    }
    if (!out) {
      app.shutdown();
      return 0;
    }
    std::vector<uint8_t> pixels;
    int w = 0, h = 0;
    if (!platform->read_pixels(pixels, w, h)) {
      app.shutdown();
      return fail("could not read the rendered frame back from " + platform->gl_renderer());
    }
    const int frame = ImGui::GetFrameCount();
    if (!gui::capture::crop_to_target(app.ui(), frame, target, pixels, w, h, &error)) {
      app.shutdown();
      return fail("--target " + error);
    }
    const auto modes = gui::mode_names();
    const std::string shown_mode = modes.at(static_cast<size_t>(std::clamp(app.ui().mode, 0, static_cast<int>(modes.size()) - 1)));
    const gui::capture::CaptureSidecar sidecar = gui::capture::sidecar_from_app(
        app.state(), app.ui(), shown_mode, width, height, static_cast<float>(scale), target,
        gui::colormap_name(app.presenter().colormap()));
    error = gui::capture::write_screenshot(*out, pixels, w, h, sidecar, args.has("--sidecar"));
    if (!error.empty()) {
      app.shutdown();
      return fail(error);
    }
    std::cout << "wrote " << *out << " (" << w << "x" << h << ", " << platform->name() << ", "
              << platform->gl_renderer() << ")" << (args.has("--sidecar") ? " and " + gui::capture::sidecar_path_for(*out) : "") << "\n";
    if (const gui::LessonViewState& view = app.ui().lesson; view.open()) {
      const auto& shown = app.state().shown;
      std::printf("lesson step %d: picture %.0f ms (inputs %.0f ms)", view.step + 1,
                  shown ? shown->image.elapsed_ms + shown->generate_ms : 0.0, shown ? shown->generate_ms : 0.0);
      const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
      if (step.run)
        if (auto it = view.runs.find(gui::run_key(view.step_config, *step.run)); it != view.runs.end())
          std::printf(", run %.0f ms", it->second.seconds * 1e3);
      std::printf("\n");
    }

    if (auto layout_path = args.get("--layout")) {
      const gui::UiState& ui = app.ui();
      const auto& img = app.state().shown->image;
      auto rect = [](const gui::PixelRect& r) { return nlohmann::json{{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}}; };
      nlohmann::json j = {{"size", {w, h}},
                          {"heatmap", rect(ui.heatmap_rect)},
                          {"colorbar", rect(ui.colorbar_rect)},
                          {"cells", {{"rows", img.rows}, {"cols", img.cols}}},
                          {"n", app.state().shown->spec.kv_len},
                          {"mask", app.state().shown->spec.mask.to_string()}};
      const FileWriteResult written = write_file_atomically(*layout_path, j.dump(2) + "\n");
      if (!written.ok) {
        // The PNG and its layout are one output: without the layout the PNG (and its sidecar) go too.
        std::error_code removed;
        for (const std::string& written_path : {*out, gui::capture::sidecar_path_for(*out)})
          if (std::filesystem::is_regular_file(written_path, removed) && (written_path == *out || args.has("--sidecar")))
            std::filesystem::remove(written_path, removed);
        status = fail("--layout: " + written.error + " (the PNG '" + *out + "' was removed with it)");
      }
    }
    if (time_frames > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < time_frames; ++i) {
        app.frame(*platform);
        glFinish();  // count the frame only when the renderer has really drawn it
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("timed %lld frames at %dx%d: %.2f ms per frame, %.1f frames/s (%s)\n",
                  static_cast<long long>(time_frames), w, h, 1000.0 * s / time_frames, time_frames / s,
                  platform->gl_renderer().c_str());
    }
    if (soak_frames > 0 && status == 0) status = soak(app, *platform, soak_frames, soak_rerun, soak_sample);
    app.shutdown();
  }
  return status;
}

const std::string& help_text() {
  static const std::string text = render_help();
  return text;
}

}  // namespace

const Command kRenderCommand{"render", "draw the app headless (EGL) into a PNG: attnscope render --out x.png ...",
                             help_text().c_str(), run_render};

}  // namespace attnscope::app
