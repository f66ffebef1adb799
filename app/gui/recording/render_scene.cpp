// render_scene.cpp — a scene rendered headless (see render_scene.hpp).
//
// Frame i shows the scene at t = i / fps. For each frame: a change of N or mask becomes the draft and an
// ApplyDraft command; the animation, zoom, panel and highlight are asked of the views (UiState::view_request,
// UiState::highlight) before every drawn frame; frames are drawn (each advancing the clock by exactly 1 / fps)
// until the picture and every task the view started are done, and the last of them is written. The first frame
// also waits for the layout to settle.
#include "app/gui/recording/render_scene.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/cli/args.hpp"
#include "app/cli/experiment_flags.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/recording/png_encode.hpp"
#include "app/gui/recording/recorder.hpp"
#include "app/gui/shell/app.hpp"
#include "app/gui/shell/experiment_args.hpp"
#include "app/gui/widgets/format.hpp"
#include "core/atomic_file.hpp"
#include "core/scene.hpp"

namespace attnscope::gui {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kName = "render";

int fail(const std::string& message) {
  std::cerr << "attnscope render: " << message << "\n";
  return 1;  // the command failed (usage errors return 2 through report_errors)
}

// What one frame of the scene asks of the app.
class SceneDriver {
 public:
  SceneDriver(App& app, const Scene& scene) : app_(app), scene_(scene) {}

  // N and mask: a new experiment when they differ from what was last applied.
  void apply_experiment(const SceneState& s) {
    UiState& ui = app_.ui();
    bool changed = false;
    if (s.n && *s.n != ui.draft.n) {
      ui.draft.n = *s.n;
      changed = true;
    }
    if (s.mask && *s.mask != applied_mask_) {
      applied_mask_ = *s.mask;
      std::string error;
      if (load_mask_editor(ui, *s.mask, &error)) ui.draft.mask = mask_text_from_editor(ui);
      else ui.draft.mask = *s.mask;  // apply_draft reports the error
      changed = true;
    }
    if (changed) ui.request(UiCommand::ApplyDraft);
  }

  // Before every drawn frame: the views take these in their next frame.
  void ask_views(const SceneState& s) {
    UiState& ui = app_.ui();
    ui.view_request.mode = scene_.mode;  // only the scene's mode takes the request
    if (!scene_.panels.empty()) ui.view_request.panel = scene_.panels.front();
    if (s.animation) ui.view_request.animation = *s.animation;
    if (s.zoom) ui.view_request.zoom = *s.zoom;
    ui.highlight = s.highlight;
  }

  void set_initial_mask(const std::string& mask) { applied_mask_ = mask; }

 private:
  App& app_;
  const Scene& scene_;
  std::string applied_mask_;
};

enum class Output { PngSequence, Video, SinglePng };

}  // namespace

std::string render_scene_help() {
  return "  --scene FILE.json       draw a scene (experiment, mode, panels, size, keyframes) frame by frame on a\n"
         "                        fixed time step; --out DIR writes DIR/frame_000001.png ..., --out FILE.mp4 or\n"
         "                        FILE.gif a video (H.264 / GIF through FFmpeg), --out FILE.png the last frame\n"
         "  --fps F                 with --scene: frames per second, 1..120     default: the scene's\n"
         "  --size WxH              with --scene: overrides the scene's size\n"
         "  (example: attnscope render --scene assets/scenes/flash-tiles.json --out tiles.mp4)\n";
}

int render_scene_command(const std::vector<std::string>& argv) {
  app::Args args(argv, app::experiment_boolean_flags());
  std::vector<std::string> known = app::experiment_flag_names();
  for (const char* f : {"--scene", "--out", "--fps", "--size", "--backend", "--timeout"}) known.push_back(f);
  std::vector<std::string> errors;
  const auto scene_path = args.get("--scene");
  const auto out = args.get("--out");
  const double fps_flag = args.get_real("--fps", 0, 1, 120);
  const double timeout_s = args.get_real("--timeout", 600, 0.1, 86400);
  int size_w = 0, size_h = 0;
  if (auto size = args.get("--size")) {
    std::string error;
    if (!parse_size(*size, &size_w, &size_h, &error)) errors.push_back(error);
  }
  LaunchSetup setup = prepare_launch(args);
  for (auto& e : args.errors(known)) errors.push_back(e);
  for (auto& e : setup.errors) errors.push_back(e);
  if (!out) errors.push_back("--out is required: a folder (PNG sequence), FILE.mp4, FILE.gif or FILE.png (the last frame)");
  if (!errors.empty()) return app::report_errors(kName, errors);

  SceneVocabulary vocabulary;
  vocabulary.modes = mode_names();
  SceneLoad load = load_scene_file(*scene_path, vocabulary);
  if (!load.scene) return app::report_errors(kName, load.errors);
  Scene scene = *load.scene;
  if (args.has("--fps")) scene.fps = fps_flag;
  if (size_w > 0) {
    scene.width = size_w;
    scene.height = size_h;
  }
  ExperimentConfig config = setup.config;
  if (!scene.experiment_json.empty()) {
    ConfigResult parsed = from_json(scene.experiment_json, *scene_path + ": /experiment", config);
    if (!parsed.ok) return app::report_errors(kName, parsed.errors);
    config = parsed.config;
  }
  const SceneState first = scene_state_at(scene, 0);
  if (first.n) config.n = *first.n;
  if (first.mask) config.mask = *first.mask;

  // Where the frames go.
  const std::optional<RecordFormat> format = record_format_for_path(*out);
  const Output output = !format ? Output::SinglePng
                        : *format == RecordFormat::PngSequence ? Output::PngSequence
                                                               : Output::Video;
  if (output != Output::PngSequence) {
    const fs::path p(*out);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail("cannot write '" + *out + "': the folder '" + dir.string() + "' does not exist");
  }

  std::string error;
  auto platform = create_headless_platform(scene.width, scene.height, &error);
  if (!platform) return fail(error);
  const int64_t frame_count = scene_frame_count(scene);
  int status = 0;
  {
    App app(config, std::move(setup.backend));
    if (!app.init(*platform, &error)) return fail(error);
    app.set_fixed_time_step(1.0 / scene.fps);
    app.ui().requested_mode = scene.mode;
    SceneDriver driver(app, scene);
    driver.set_initial_mask(config.mask);

    Recorder recorder;
    if (output != Output::SinglePng) {
      RecordOptions options;
      options.path = *out;
      options.format = *format;
      options.fps = scene.fps;
      options.width = platform->framebuffer_width();
      options.height = platform->framebuffer_height();
      if (!recorder.start(options, &error)) {
        app.shutdown();
        return fail(error);
      }
    }

    const auto start = Clock::now();
    auto last_report = start;
    std::vector<uint8_t> pixels;
    int w = 0, h = 0;
    for (int64_t i = 0; i < frame_count && status == 0; ++i) {
      const SceneState s = scene_state_at(scene, static_cast<double>(i) / scene.fps);
      driver.apply_experiment(s);
      // Draw until the picture for this state is on screen; the first frame also lets the layout settle.
      int drawn = 0;
      const int min_frames = i == 0 ? 4 : 1;
      for (;;) {
        driver.ask_views(s);
        app.frame(*platform);
        ++drawn;
        if (app.failed() && !app.state().computing) {
          for (auto& e : app.state().errors) std::cerr << "attnscope render: frame " << i << ": " << e << "\n";
          status = 2;
          break;
        }
        if (std::chrono::duration<double>(Clock::now() - start).count() > timeout_s) {
          status = fail("the scene was not rendered within --timeout " + std::to_string(timeout_s) + " s (frame " +
                        std::to_string(i) + " of " + std::to_string(frame_count) + ")");
          break;
        }
        if (app.settled() && drawn >= min_frames) {
          if (drawn == 1 || i == 0) break;
          // It waited for a result: one more frame, so what the result changed in the layout has settled.
          driver.ask_views(s);
          app.frame(*platform);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (status != 0) break;
      if (!platform->read_pixels(pixels, w, h)) {
        status = fail("could not read frame " + std::to_string(i) + " back from " + platform->gl_renderer());
        break;
      }
      if (output != Output::SinglePng && !recorder.add_frame(pixels, /*bottom_up=*/false)) {
        status = fail(recorder.progress().error);
        break;
      }
      if (std::chrono::duration<double>(Clock::now() - last_report).count() > 2.0) {
        last_report = Clock::now();
        std::cout << "frame " << i + 1 << " of " << frame_count << "\n" << std::flush;
      }
    }
    app.shutdown();

    if (output == Output::SinglePng) {
      if (status == 0) {
        const std::string png = encode_png(pixels.data(), w, h, w * 4);
        const FileWriteResult written = write_file_atomically(*out, png);
        if (!written.ok) return fail(written.error);
        std::cout << "wrote " << *out << ": the last of " << frame_count << " frames (" << w << "x" << h << ", "
                  << format_bytes(static_cast<double>(png.size())) << ")\n";
      }
      return status;
    }
    recorder.stop();
    const bool complete = recorder.wait();
    const RecordProgress p = recorder.progress();
    if (!complete) return fail(p.error.empty() ? "the recording was not completed" : p.error);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    char length[64];
    std::snprintf(length, sizeof length, "%g fps, %.2f s of ", scene.fps, static_cast<double>(p.frames_written) / scene.fps);
    std::cout << "wrote " << *out << ": " << p.frames_written << " frames (" << scene.width << "x" << scene.height
              << ", " << length << record_format_label(*format) << "), " << format_bytes(static_cast<double>(p.bytes))
              << " (" << p.bytes << " bytes), rendered in " << format_time_ms(seconds * 1e3) << " on "
              << platform->gl_renderer() << "\n";
  }
  return status;
}

}  // namespace attnscope::gui
