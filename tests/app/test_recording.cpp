// test_recording.cpp — recording from the app and scenes rendered headless: frames read back from the framebuffer
// on a fixed time step (PNG sequence and MP4 through the plugin, decoded again with libavformat), write errors
// reported while the app goes on, the plugin loader's messages, and `render --scene`: identical pixels for the
// same scene, broken scene files by name and line, unwritable outputs.
#include <doctest/doctest.h>

#include <imgui.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>

#include "app/cli/backends.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/recording/recording_ui.hpp"
#include "app/gui/recording/video_loader.hpp"
#include "app/gui/shell/app.hpp"
#include "tests/common/test_util.hpp"

#if defined(ATTNSCOPE_TEST_VIDEO)
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}
#endif

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

using namespace attnscope;
using namespace attnscope::gui;
using attnscope::test::fresh_dir;
namespace fs = std::filesystem;

namespace {

using attnscope::test::CommandResult;

CommandResult run_attnscope(const std::string& args) {
  const CommandResult r = attnscope::test::run_command(std::string("'") + ATTNSCOPE_BINARY + "' " + args);
  REQUIRE(r.started);
  return r;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Every frame_NNNNNN.png in a folder: how many, and whether they all have the size given.
struct Sequence {
  int frames = 0;
  bool all_sized = true;
};
Sequence png_sequence(const fs::path& dir, int width, int height) {
  Sequence s;
  for (int i = 1;; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame_%06d.png", i);
    if (!fs::exists(dir / name)) break;
    int w = 0, h = 0, channels = 0;
    unsigned char* pixels = stbi_load((dir / name).string().c_str(), &w, &h, &channels, 4);
    if (!pixels || w != width || h != height) s.all_sized = false;
    stbi_image_free(pixels);
    ++s.frames;
  }
  return s;
}

// An app on a headless platform with its first picture on screen.
struct Rig {
  std::unique_ptr<Platform> platform;
  std::unique_ptr<App> app;
  Rig(int width, int height) {
    std::string error;
    platform = create_headless_platform(width, height, &error);
    REQUIRE_MESSAGE(platform, error);
    ExperimentConfig config;
    config.n = 128;
    app = std::make_unique<App>(config, app::make_backend("cpu", &error));
    REQUIRE_MESSAGE(app->init(*platform, &error), error);
    const auto start = std::chrono::steady_clock::now();
    while (!app->settled() || app->frames_drawn() < 3) {
      app->frame(*platform);
      REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  ~Rig() { app->shutdown(); }
};

#if defined(ATTNSCOPE_TEST_VIDEO)
struct Decoded {
  int frames = 0, width = 0, height = 0;
  bool sizes_equal = true;
};
Decoded decode_file(const std::string& path) {
  Decoded d;
  AVFormatContext* fmt = nullptr;
  REQUIRE(avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) == 0);
  REQUIRE(avformat_find_stream_info(fmt, nullptr) >= 0);
  const int index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  REQUIRE(index >= 0);
  const AVCodec* codec = avcodec_find_decoder(fmt->streams[index]->codecpar->codec_id);
  REQUIRE(codec != nullptr);
  AVCodecContext* dec = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(dec, fmt->streams[index]->codecpar);
  REQUIRE(avcodec_open2(dec, codec, nullptr) == 0);
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  auto take = [&] {
    while (avcodec_receive_frame(dec, frame) == 0) {
      if (d.frames == 0) {
        d.width = frame->width;
        d.height = frame->height;
      } else if (frame->width != d.width || frame->height != d.height) {
        d.sizes_equal = false;
      }
      ++d.frames;
    }
  };
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == index) {
      avcodec_send_packet(dec, pkt);
      take();
    }
    av_packet_unref(pkt);
  }
  avcodec_send_packet(dec, nullptr);
  take();
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  return d;
}
#endif

// A small Explore scene whose N changes at t = 0.2 s (a recomputation the renderer must wait for).
const char* kExploreScene = R"({
  "mode": "Explore",
  "experiment": {"n": 96, "mask": "window:16"},
  "size": [320, 192],
  "fps": 10,
  "keyframes": [
    {"t": 0},
    {"t": 0.2, "n": 160},
    {"t": 0.3}
  ]
})";

}  // namespace

TEST_CASE("recording: 10 frames on the fixed time step become 10 PNGs of the window's size; the app returns to real time") {
  Rig rig(320, 200);
  RecordingController& rec = rig.app->recording();
  const fs::path dir = fresh_dir("record_png") / "frames";  // created by the recorder
  RecordOptions o;
  o.path = dir.string();
  o.format = RecordFormat::PngSequence;
  o.fps = 25;
  o.width = rig.platform->framebuffer_width();
  o.height = rig.platform->framebuffer_height();
  std::string error;
  REQUIRE_MESSAGE(rec.start(o, &error), error);
  CHECK(rig.app->ui().fixed_time_step == doctest::Approx(0.04));
  const double t0 = ImGui::GetTime();
  for (int i = 0; i < 10; ++i) rig.app->frame(*rig.platform);
  CHECK(ImGui::GetTime() - t0 == doctest::Approx(10 * 0.04).epsilon(1e-4));  // exactly 1/fps per frame
  CHECK(rec.finish_and_wait());
  CHECK(rig.app->ui().fixed_time_step == 0);
  const RecordProgress p = rec.recorder()->progress();
  CHECK(p.frames_written == 10);
  CHECK(p.error.empty());
  const Sequence s = png_sequence(dir, 320, 200);
  CHECK(s.frames == 10);
  CHECK(s.all_sized);
  CHECK(p.bytes > 10 * 1000);  // real pictures, not empty files
  fs::remove_all(dir.parent_path());
}

#if defined(ATTNSCOPE_TEST_VIDEO)
TEST_CASE("recording: 10 frames through the video plugin (loaded beside the program) decode as 10 frames of one size") {
  REQUIRE_MESSAGE(video_plugin().ok(), video_plugin().error);
  Rig rig(320, 200);
  RecordingController& rec = rig.app->recording();
  const fs::path dir = fresh_dir("record_mp4");
  for (RecordFormat format : {RecordFormat::Mp4, RecordFormat::Gif}) {
    RecordOptions o;
    o.path = (dir / (std::string("rec") + record_format_extension(format))).string();
    o.format = format;
    o.fps = 30;
    o.width = 320;
    o.height = 200;
    std::string error;
    REQUIRE_MESSAGE(rec.start(o, &error), error);
    for (int i = 0; i < 10; ++i) rig.app->frame(*rig.platform);
    REQUIRE(rec.finish_and_wait());
    const Decoded d = decode_file(o.path);
    INFO(o.path);
    CHECK(d.frames == 10);
    CHECK(d.sizes_equal);
    CHECK(d.width == 320);
    CHECK(d.height == 200);
    CHECK(rec.recorder()->progress().bytes == static_cast<int64_t>(fs::file_size(o.path)));
  }
  fs::remove_all(dir);
}
#endif

TEST_CASE("recording: unwritable paths are refused with the reason; a write error mid-recording stops it and the app goes on") {
  Rig rig(160, 120);
  RecordingController& rec = rig.app->recording();
  std::string error;
  RecordOptions o;
  o.width = 160;
  o.height = 120;
  o.format = RecordFormat::PngSequence;
  o.path = "/etc/passwd/frames";  // a folder under a file
  CHECK_FALSE(rec.start(o, &error));
  CHECK(error.find("/etc/passwd/frames") != std::string::npos);
  CHECK(rig.app->ui().fixed_time_step == 0);  // nothing started

  const fs::path dir = fresh_dir("record_errors");
  write_text(dir / "frame_000001.png", "an earlier recording");
  o.path = dir.string();
  CHECK_FALSE(rec.start(o, &error));
  CHECK(error.find("already holds a PNG sequence") != std::string::npos);
  fs::remove(dir / "frame_000001.png");

  o.format = RecordFormat::Mp4;
  o.path = (dir / "no" / "such" / "x.mp4").string();
  if (video_plugin().ok()) {
    CHECK_FALSE(rec.start(o, &error));
    CHECK(error.find("does not exist") != std::string::npos);
  }

  // A file-size limit standing in for a full disk: the frame that does not fit stops the recording with the
  // reason, the frames before it stay, and the app keeps drawing in real time.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 4096) {
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    o.format = RecordFormat::PngSequence;
    o.path = (dir / "full").string();
    REQUIRE_MESSAGE(rec.start(o, &error), error);
    rlimit small = saved;
    small.rlim_cur = 4096;  // smaller than one frame's PNG
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    for (int i = 0; i < 5; ++i) rig.app->frame(*rig.platform);
    const bool complete = rec.finish_and_wait();
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    CHECK_FALSE(complete);
    const std::string why = rec.recorder()->progress().error;
    CHECK(why.find("size limit") != std::string::npos);
    for (int i = 0; i < 3; ++i) rig.app->frame(*rig.platform);  // the app goes on
    CHECK(rig.app->ui().fixed_time_step == 0);
    CHECK_FALSE(rec.recording());
  }
  fs::remove_all(dir);
}

TEST_CASE("video plugin loader: a missing plugin or library is explained with what to install") {
  const VideoPluginLoad missing = load_video_plugin_from({"/nonexistent/attnscope/libattnscope_video.so"});
  CHECK_FALSE(missing.ok());
  CHECK(missing.error.find("libattnscope_video.so was not found") != std::string::npos);
  CHECK(missing.error.find("/nonexistent/attnscope") != std::string::npos);
  CHECK(missing.error.find("libavcodec-dev") != std::string::npos);
  CHECK(missing.error.find("PNG sequences need no plugin") != std::string::npos);

  const fs::path dir = fresh_dir("plugin_loader");
  write_text(dir / "libattnscope_video.so", "not a shared library");
  const VideoPluginLoad broken = load_video_plugin_from({(dir / "libattnscope_video.so").string()});
  CHECK_FALSE(broken.ok());
  CHECK(broken.error.find("could not be loaded") != std::string::npos);
  CHECK(broken.error.find((dir / "libattnscope_video.so").string()) != std::string::npos);
  fs::remove_all(dir);

  // dlerror's text for a missing FFmpeg library names the Debian package that brings it.
  CHECK(missing_library_advice("libavcodec.so.59: cannot open shared object file: No such file or directory")
            .find("sudo apt install libavcodec59") != std::string::npos);
  CHECK(missing_library_advice("libx264.so.164: cannot open shared object file").find("libx264-164") != std::string::npos);
  CHECK(missing_library_advice("undefined symbol: foo").empty());

  // MP4 without the plugin: start refuses with the loader's message and no recording begins.
  Recorder recorder(&missing);
  RecordOptions o;
  o.path = (fs::temp_directory_path() / "never.mp4").string();
  o.width = o.height = 64;
  std::string error;
  CHECK_FALSE(recorder.start(o, &error));
  CHECK(error == missing.error);
  CHECK(error.rfind("video export unavailable: ", 0) == 0);
  CHECK_FALSE(recorder.running());

  // FFmpeg missing at run time does not stop PNG sequences: the same recorder, without the plugin, writes 3 frames.
  const fs::path frames = fresh_dir("plugin_missing_png") / "frames";
  RecordOptions png;
  png.path = frames.string();
  png.format = RecordFormat::PngSequence;
  png.width = png.height = 16;
  REQUIRE_MESSAGE(recorder.start(png, &error), error);
  for (int i = 0; i < 3; ++i) CHECK(recorder.add_frame(std::vector<uint8_t>(16 * 16 * 4, static_cast<uint8_t>(60 * i)), false));
  recorder.stop();
  CHECK(recorder.wait());
  const Sequence s = png_sequence(frames, 16, 16);
  CHECK(s.frames == 3);
  CHECK(s.all_sized);
  fs::remove_all(frames.parent_path());
}

TEST_CASE("render --scene: the same scene twice gives identical pixels, every frame the scene's size") {
  const fs::path dir = fresh_dir("scene_render");
  write_text(dir / "explore.json", kExploreScene);
  for (const char* out : {"a", "b"}) {
    const CommandResult r = run_attnscope("render --scene '" + (dir / "explore.json").string() + "' --out '" +
                                          (dir / out).string() + "'");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("4 frames") != std::string::npos);
  }
  const Sequence a = png_sequence(dir / "a", 320, 192), b = png_sequence(dir / "b", 320, 192);
  CHECK(a.frames == 4);  // t = 0, 0.1, 0.2, 0.3
  CHECK(a.all_sized);
  CHECK(b.frames == 4);
  for (int i = 1; i <= 4; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame_%06d.png", i);
    INFO(name);
    CHECK(read_bytes(dir / "a" / name) == read_bytes(dir / "b" / name));
  }
  // N changed at t = 0.2: the picture changed with it.
  CHECK(read_bytes(dir / "a" / "frame_000002.png") != read_bytes(dir / "a" / "frame_000003.png"));

#if defined(ATTNSCOPE_TEST_VIDEO)
  const CommandResult v = run_attnscope("render --scene '" + (dir / "explore.json").string() + "' --fps 20 --out '" +
                                        (dir / "scene.mp4").string() + "'");
  INFO(v.output);
  REQUIRE(v.status == 0);
  const Decoded d = decode_file((dir / "scene.mp4").string());
  CHECK(d.frames == 7);  // 0.3 s at 20 fps, both ends
  CHECK(d.width == 320);
  CHECK(d.height == 192);
#endif
  fs::remove_all(dir);
}

TEST_CASE("render --scene: a broken scene file is reported by name and line; an unwritable output is refused") {
  const fs::path dir = fresh_dir("scene_errors");
  write_text(dir / "broken.json", "{\n  \"mode\": \"Explore\",\n  \"fps\": 500,\n  \"keyframes\": [{\"t\": 0}]\n}\n");
  const CommandResult bad = run_attnscope("render --scene '" + (dir / "broken.json").string() + "' --out '" +
                                          (dir / "out").string() + "'");
  INFO(bad.output);
  CHECK(bad.status == 2);
  CHECK(bad.output.find("broken.json:3: /fps: must be from 1 to 120") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out"));

  write_text(dir / "unknown-mode.json", "{\"mode\": \"Flashy\", \"keyframes\": [{\"t\": 0}]}");
  const CommandResult mode = run_attnscope("render --scene '" + (dir / "unknown-mode.json").string() + "' --out '" +
                                           (dir / "out").string() + "'");
  CHECK(mode.status == 2);
  CHECK(mode.output.find("unknown-mode.json:1: /mode: unknown mode 'Flashy'; choose Explore") != std::string::npos);

  write_text(dir / "ok.json", kExploreScene);
  const CommandResult unwritable = run_attnscope("render --scene '" + (dir / "ok.json").string() +
                                                 "' --out /nonexistent/folder/x.gif");
  INFO(unwritable.output);
  CHECK(unwritable.status == 1);  // a failure to write, not a usage error
  CHECK(unwritable.output.find("'/nonexistent/folder' does not exist") != std::string::npos);
  const CommandResult under_file = run_attnscope("render --scene '" + (dir / "ok.json").string() +
                                                 "' --out /etc/passwd/frames");
  CHECK(under_file.status == 1);
  CHECK(under_file.output.find("/etc/passwd/frames") != std::string::npos);
  fs::remove_all(dir);
}
