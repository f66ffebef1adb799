// test_video_plugin.cpp — the video plugin as the app uses it (dlopen, the factory, the Encoder interface):
// N frames in give N frames of the same size out (read back with libavformat/libavcodec), in MP4 and GIF, odd
// sizes included; an early stop still makes a playable file; write failures name the reason and leave nothing.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include "tests/common/test_util.hpp"
#include "app/plugins/ffmpeg_video/video_encoder_api.hpp"

using namespace attnscope::video;
using attnscope::test::entries;
using attnscope::test::fresh_dir;
namespace fs = std::filesystem;

namespace {

OpenEncoderFn load_plugin() {
  static void* handle = dlopen(ATTNSCOPE_VIDEO_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  INFO(ATTNSCOPE_VIDEO_PLUGIN_PATH, ": ", (handle ? "" : dlerror()));
  REQUIRE(handle != nullptr);
  auto fn = reinterpret_cast<OpenEncoderFn>(dlsym(handle, kOpenEncoderSymbol));
  REQUIRE(static_cast<bool>(fn));
  return fn;
}

// A moving gradient with a bright square: frame k differs from frame k-1 everywhere the square moved.
std::vector<uint8_t> test_frame(int w, int h, int k) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 4];
      const bool square = x >= 4 * k && x < 4 * k + 8 && y >= 8 && y < 16;
      p[0] = square ? 255 : static_cast<uint8_t>(x * 255 / w);
      p[1] = square ? 255 : static_cast<uint8_t>(y * 255 / h);
      p[2] = static_cast<uint8_t>(40 * k);
      p[3] = 255;
    }
  return px;
}

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

void record(OpenEncoderFn open, const EncoderOptions& options, int frames) {
  std::string error;
  std::unique_ptr<Encoder> enc(open(options, error));
  INFO(error);
  REQUIRE(enc);
  for (int k = 0; k < frames; ++k) {
    const auto px = test_frame(options.width, options.height, k);
    REQUIRE(enc->add_frame(px.data(), options.width * 4));
    CHECK(enc->frames() == k + 1);
  }
  INFO(enc->error());
  REQUIRE(enc->finish());
  CHECK(enc->bytes_written() == static_cast<int64_t>(fs::file_size(options.path)));
}

}  // namespace

TEST_CASE("video plugin: 10 frames in, 10 frames of one size out — MP4 and GIF, odd sizes too") {
  const OpenEncoderFn open = load_plugin();
  const fs::path dir = fresh_dir("video_frames");
  struct Case {
    Container container;
    int w, h;
    const char* name;
    int expect_w, expect_h;
  } cases[] = {{Container::Mp4, 64, 48, "a.mp4", 64, 48},
               {Container::Mp4, 63, 47, "odd.mp4", 64, 48},  // padded to even by repeating the edge
               {Container::Gif, 64, 48, "a.gif", 64, 48},
               {Container::Gif, 63, 47, "odd.gif", 63, 47}};
  for (const Case& c : cases) {
    INFO(c.name);
    EncoderOptions o;
    o.path = (dir / c.name).string();
    o.container = c.container;
    o.width = c.w;
    o.height = c.h;
    o.fps = 10;
    record(open, o, 10);
    const Decoded d = decode_file(o.path);
    CHECK(d.frames == 10);
    CHECK(d.sizes_equal);
    CHECK(d.width == c.expect_w);
    CHECK(d.height == c.expect_h);
  }
  CHECK(entries(dir) == 4);  // no partial files left
  fs::remove_all(dir);
}

TEST_CASE("video plugin: bad options and unwritable paths are refused with the reason; nothing is left behind") {
  const OpenEncoderFn open = load_plugin();
  const fs::path dir = fresh_dir("video_errors");
  std::string error;
  EncoderOptions o;
  o.width = 64;
  o.height = 48;
  o.path = (dir / "no" / "such" / "x.mp4").string();
  CHECK(open(o, error) == nullptr);
  CHECK(error.find("does not exist") != std::string::npos);
  o.path = (dir / "x.mp4").string();
  o.width = 0;
  CHECK(open(o, error) == nullptr);
  CHECK(error.find("must be 2×2 to 7680×4320") != std::string::npos);
  o.width = 64;
  o.fps = 0;
  CHECK(open(o, error) == nullptr);
  CHECK(error.find("frame rate") != std::string::npos);

  // A file-size limit hit in the middle of a recording: the error says so and the partial file is removed.
  o.fps = 10;
  o.container = Container::Gif;
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 8192) {
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 8192;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::unique_ptr<Encoder> enc(open(o, error));
    bool failed = false;
    if (enc) {
      for (int k = 0; k < 40 && !failed; ++k) failed = !enc->add_frame(test_frame(64, 48, k % 12).data(), 64 * 4);
      if (!failed) failed = !enc->finish();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE(enc);
    CHECK(failed);
    CHECK(enc->error().find("size limit") != std::string::npos);
    CHECK_FALSE(fs::exists(o.path));
  }
  CHECK(entries(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("video plugin: an encoder dropped without finish keeps the old file") {
  const OpenEncoderFn open = load_plugin();
  const fs::path dir = fresh_dir("video_drop");
  EncoderOptions o;
  o.path = (dir / "keep.mp4").string();
  o.width = 32;
  o.height = 32;
  record(open, o, 3);
  const auto size_before = fs::file_size(o.path);
  {
    std::string error;
    std::unique_ptr<Encoder> enc(open(o, error));
    REQUIRE(enc);
    REQUIRE(enc->add_frame(test_frame(32, 32, 1).data(), 32 * 4));
  }
  CHECK(fs::file_size(o.path) == size_before);
  CHECK(decode_file(o.path).frames == 3);
  CHECK(entries(dir) == 1);
  fs::remove_all(dir);
}
