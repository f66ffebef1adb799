// video_encoder_api.hpp — the contract between the app and the video plugin (libattnscope_video.so).
//
// Video is encoded in-process with FFmpeg's libraries (libavcodec, libavformat, libswscale, libavfilter), but the
// app does not link them: it loads the plugin with dlopen when a recording starts, so a machine without FFmpeg's
// libraries still runs the app and gets a message naming the missing library instead of a failed start.
// Both sides are built from this tree by the same compiler, so C++ types cross the boundary; only the factory is
// extern "C" (to be found by dlsym).
#pragma once
#include <cstdint>
#include <string>

namespace attnscope::video {

enum class Container { Mp4, Gif };  // MP4: H.264 (libx264), yuv420p; GIF: per-frame palettes (palettegen/paletteuse)

struct EncoderOptions {
  std::string path;        // the file to make; written to a temporary file beside it and renamed at finish()
  Container container = Container::Mp4;
  int width = 0, height = 0;  // of the frames given to add_frame (MP4 pads odd sizes by one pixel)
  double fps = 30;            // frames are presented at i / fps
  int quality = 18;           // MP4: x264's constant rate factor (0 lossless .. 51; 18 looks lossless)
};

class Encoder {
 public:
  virtual ~Encoder() = default;  // without finish(): the temporary file is removed, the target is untouched
  // One frame of width × height RGBA pixels, rows `stride` bytes apart, top row first. False after an error
  // (error() says what, in the user's words: "the disk is full ...").
  virtual bool add_frame(const uint8_t* rgba, int stride) = 0;
  // Flushes the encoder, writes the container's index and renames the file into place. A recording stopped
  // early is finished the same way: the frames given so far make a complete, playable file.
  virtual bool finish() = 0;
  virtual const std::string& error() const = 0;
  virtual int64_t frames() const = 0;        // frames given so far
  virtual int64_t bytes_written() const = 0; // bytes in the file so far (the temporary file before finish)
};

// The plugin's entry point: nullptr with `error` set when the options are invalid or the file cannot be opened.
using OpenEncoderFn = Encoder* (*)(const EncoderOptions& options, std::string& error);
inline constexpr const char* kOpenEncoderSymbol = "attnscope_video_open_encoder";
inline constexpr const char* kPluginFile = "libattnscope_video.so";

}  // namespace attnscope::video
