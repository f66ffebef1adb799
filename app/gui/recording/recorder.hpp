// recorder.hpp — frames to a file on a writer thread: MP4 (H.264) or GIF through the video plugin, or a PNG
// sequence (DIR/frame_000001.png ...). The caller (the UI thread, or `render --scene`) reads a frame back and hands
// it over; the writer encodes while the next frame is drawn. The queue is bounded: when encoding is slower than
// drawing, add_frame waits, so no frame is dropped (a recording on a fixed time step must hold every frame) and
// memory stays bounded.
//
//   Recorder r;  if (!r.start(options, &error)) ...;  r.add_frame(pixels, bottom_up) ...;  r.stop();  r.wait();
// stop() returns at once (the writer finishes the file in the background: progress().finishing); wait() joins.
// A recording stopped early, or by the destructor, is finished the same way: the frames given make a complete,
// playable file. A write error (full disk, unwritable folder) ends the recording with progress().error set;
// frames after it are refused, and the app goes on.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/gui/recording/video_loader.hpp"

namespace attnscope::gui {

enum class RecordFormat { Mp4, Gif, PngSequence };

const char* record_format_label(RecordFormat format);  // "MP4 (H.264)", "GIF", "PNG sequence"
const char* record_format_extension(RecordFormat format);  // ".mp4", ".gif", "" (a folder)
// From an output path: .mp4 and .gif by extension, anything else a folder of PNGs (nullopt for ".png", a single
// image, which the caller handles).
std::optional<RecordFormat> record_format_for_path(const std::string& path);

struct RecordOptions {
  std::string path;  // the .mp4/.gif file, or the PNG sequence's folder (created when missing)
  RecordFormat format = RecordFormat::Mp4;
  double fps = 30;
  int width = 0, height = 0;  // of every frame
};

struct RecordProgress {
  int64_t frames_given = 0;    // accepted by add_frame
  int64_t frames_written = 0;  // encoded or written by the writer
  int64_t bytes = 0;           // in the file (or the folder's PNGs) so far
  bool finishing = false;      // stop() was called; the writer is writing what was queued and closing the file
  bool done = false;           // the writer has ended: the file is complete (or error says why not)
  std::string error;           // the first failure, in the user's words
};

class Recorder {
 public:
  // `plugin`: how MP4 and GIF are encoded; nullptr = the process's video_plugin(). Must outlive the Recorder.
  explicit Recorder(const VideoPluginLoad* plugin = nullptr);
  ~Recorder();  // stops and waits: what was given is written
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Opens the output (the encoder, or the PNG folder) and starts the writer; false with `error` naming the
  // problem (plugin missing, unwritable path, folder already holding frames, bad size or fps).
  bool start(const RecordOptions& options, std::string* error);
  // One frame of width × height RGBA8, top row first (bottom_up: as glReadPixels returns it). Waits while the
  // queue is full. False when not recording or after a write error.
  bool add_frame(std::vector<uint8_t> rgba, bool bottom_up);
  void stop();  // no more frames: write the queued ones, finish the file; returns at once
  bool wait();  // until the writer has ended; true when the file is complete and there was no error

  bool recording() const;  // started, not stopped, no error
  bool running() const;    // the writer thread has not ended (recording or finishing)
  RecordProgress progress() const;
  const RecordOptions& options() const { return options_; }

  class Sink;  // where frames go (video encoder or PNG files); defined in recorder.cpp

 private:
  struct Frame {
    std::vector<uint8_t> rgba;
    bool bottom_up = false;
  };
  void writer_loop();

  const VideoPluginLoad* plugin_;
  RecordOptions options_;
  std::unique_ptr<Sink> sink_;
  std::thread writer_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Frame> queue_;
  std::size_t max_queued_ = 4;
  bool started_ = false, stopping_ = false;
  RecordProgress progress_;
};

// "frame_000042.png": the PNG sequence's file name for frame `index` (1-based).
std::string png_frame_name(int64_t index);

}  // namespace attnscope::gui
