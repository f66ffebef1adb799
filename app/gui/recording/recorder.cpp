// recorder.cpp — the writer thread and its two sinks (see recorder.hpp).
#include "app/gui/recording/recorder.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

#include "app/gui/recording/png_encode.hpp"
#include "core/atomic_file.hpp"

namespace attnscope::gui {

namespace fs = std::filesystem;

// Where the writer puts frames: rows top first, `stride` bytes apart. Called on the writer thread only.
class Recorder::Sink {
 public:
  virtual ~Sink() = default;
  virtual bool write(const uint8_t* rgba, int stride) = 0;
  virtual bool finish() = 0;
  virtual std::string error() const = 0;
  virtual int64_t bytes() const = 0;
};

namespace {

// Frames queued ahead of the writer: a few, and at most about 256 MiB of pixels.
constexpr std::size_t kQueueBytes = std::size_t{256} << 20;

class VideoSink final : public Recorder::Sink {
 public:
  explicit VideoSink(std::unique_ptr<video::Encoder> encoder) : encoder_(std::move(encoder)) {}
  bool write(const uint8_t* rgba, int stride) override { return encoder_->add_frame(rgba, stride); }
  bool finish() override { return encoder_->finish(); }
  std::string error() const override { return encoder_->error(); }
  int64_t bytes() const override { return encoder_->bytes_written(); }

 private:
  std::unique_ptr<video::Encoder> encoder_;
};

// DIR/frame_000001.png, ...: each frame a complete PNG, written atomically; a failed frame stops the sequence
// and the frames before it stay.
class PngSequenceSink final : public Recorder::Sink {
 public:
  PngSequenceSink(fs::path dir, int width, int height) : dir_(std::move(dir)), width_(width), height_(height) {}
  bool write(const uint8_t* rgba, int stride) override {
    if (!error_.empty()) return false;
    const std::string png = encode_png(rgba, width_, height_, stride);
    if (png.empty()) {
      error_ = "cannot encode frame " + std::to_string(next_) + " as PNG (out of memory?)";
      return false;
    }
    const FileWriteResult written = write_file_atomically((dir_ / png_frame_name(next_)).string(), png);
    if (!written.ok) {
      error_ = written.error;
      return false;
    }
    ++next_;
    bytes_ += static_cast<int64_t>(png.size());
    return true;
  }
  bool finish() override { return error_.empty(); }
  std::string error() const override { return error_; }
  int64_t bytes() const override { return bytes_; }

 private:
  fs::path dir_;
  int width_, height_;
  int64_t next_ = 1, bytes_ = 0;
  std::string error_;
};

// The PNG sequence's folder: created when missing; refused when it is a file or already holds frames (two
// recordings' frames would mix).
bool prepare_png_folder(const fs::path& dir, std::string* error) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    *error = "cannot write a PNG sequence into '" + dir.string() + "': it is a file, not a folder; choose a folder";
    return false;
  }
  if (!fs::exists(dir, ec)) {
    if (!fs::create_directories(dir, ec)) {
      *error = "cannot create the folder '" + dir.string() + "': " + describe_write_error(ec.value(), dir.string());
      return false;
    }
    return true;
  }
  static const std::regex frame_name(R"(frame_[0-9]{6}\.png)");
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (std::regex_match(entry.path().filename().string(), frame_name)) {
      *error = "the folder '" + dir.string() + "' already holds a PNG sequence (" +
               entry.path().filename().string() + "); choose an empty or new folder so two recordings do not mix";
      return false;
    }
  }
  if (ec) {
    *error = "cannot read the folder '" + dir.string() + "': " + ec.message();
    return false;
  }
  // Writable? A probe through the same writer the frames use, so its error is the one the user would get.
  const std::string probe = (dir / ".attnscope-write-test").string();
  const FileWriteResult written = write_file_atomically(probe, "ok");
  if (!written.ok) {
    *error = written.error;
    return false;
  }
  fs::remove(probe, ec);
  return true;
}

}  // namespace

const char* record_format_label(RecordFormat format) {
  switch (format) {
    case RecordFormat::Mp4: return "MP4 (H.264)";
    case RecordFormat::Gif: return "GIF";
    case RecordFormat::PngSequence: return "PNG sequence";
  }
  return "?";
}

const char* record_format_extension(RecordFormat format) {
  switch (format) {
    case RecordFormat::Mp4: return ".mp4";
    case RecordFormat::Gif: return ".gif";
    case RecordFormat::PngSequence: return "";
  }
  return "";
}

std::optional<RecordFormat> record_format_for_path(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".mp4") return RecordFormat::Mp4;
  if (ext == ".gif") return RecordFormat::Gif;
  if (ext == ".png") return std::nullopt;
  return RecordFormat::PngSequence;
}

std::string png_frame_name(int64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "frame_%06lld.png", static_cast<long long>(index));
  return name;
}

Recorder::Recorder(const VideoPluginLoad* plugin) : plugin_(plugin) {}

Recorder::~Recorder() {
  stop();
  wait();
}

bool Recorder::start(const RecordOptions& options, std::string* error) {
  if (started_) {
    *error = "a recording is already running";
    return false;
  }
  if (options.width < 2 || options.height < 2 || options.width > 16384 || options.height > 16384) {
    *error = "cannot record frames of " + std::to_string(options.width) + "x" + std::to_string(options.height) +
             " pixels (2x2 to 16384x16384)";
    return false;
  }
  if (!(options.fps >= 1 && options.fps <= 240)) {
    *error = "the frame rate must be 1 to 240 frames per second";
    return false;
  }
  if (options.path.empty()) {
    *error = "choose where to write the recording";
    return false;
  }
  if (options.format == RecordFormat::PngSequence) {
    if (!prepare_png_folder(options.path, error)) return false;
    sink_ = std::make_unique<PngSequenceSink>(options.path, options.width, options.height);
  } else {
    const VideoPluginLoad& plugin = plugin_ ? *plugin_ : video_plugin();
    if (!plugin.ok()) {
      *error = plugin.error;
      return false;
    }
    video::EncoderOptions eo;
    eo.path = options.path;
    eo.container = options.format == RecordFormat::Gif ? video::Container::Gif : video::Container::Mp4;
    eo.width = options.width;
    eo.height = options.height;
    eo.fps = options.fps;
    std::string why;
    std::unique_ptr<video::Encoder> encoder(plugin.open(eo, why));
    if (!encoder) {
      *error = why.empty() ? "cannot start the video encoder for '" + options.path + "'" : why;
      return false;
    }
    sink_ = std::make_unique<VideoSink>(std::move(encoder));
  }
  options_ = options;
  const std::size_t frame_bytes = static_cast<std::size_t>(options.width) * options.height * 4;
  max_queued_ = std::clamp<std::size_t>(kQueueBytes / frame_bytes, 2, 8);
  progress_ = RecordProgress{};
  started_ = true;
  stopping_ = false;
  writer_ = std::thread([this] { writer_loop(); });
  return true;
}

bool Recorder::add_frame(std::vector<uint8_t> rgba, bool bottom_up) {
  const std::size_t expected = static_cast<std::size_t>(options_.width) * options_.height * 4;
  std::unique_lock lock(mutex_);
  if (!started_ || stopping_ || !progress_.error.empty()) return false;
  if (rgba.size() != expected) {
    progress_.error = "a frame of " + std::to_string(rgba.size()) + " bytes does not match the recording's " +
                      std::to_string(options_.width) + "x" + std::to_string(options_.height) +
                      " pixels (was the window resized? the recording keeps the size it started with)";
    stopping_ = true;
    changed_.notify_all();
    return false;
  }
  changed_.wait(lock, [&] { return queue_.size() < max_queued_ || stopping_ || !progress_.error.empty(); });
  if (stopping_ || !progress_.error.empty()) return false;
  queue_.push_back(Frame{std::move(rgba), bottom_up});
  ++progress_.frames_given;
  changed_.notify_all();
  return true;
}

void Recorder::stop() {
  std::lock_guard lock(mutex_);
  if (!started_ || stopping_) return;
  stopping_ = true;
  progress_.finishing = true;
  changed_.notify_all();
}

bool Recorder::wait() {
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(mutex_);
  return progress_.done && progress_.error.empty();
}

bool Recorder::recording() const {
  std::lock_guard lock(mutex_);
  return started_ && !stopping_ && progress_.error.empty();
}

bool Recorder::running() const {
  std::lock_guard lock(mutex_);
  return started_ && !progress_.done;
}

RecordProgress Recorder::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

void Recorder::writer_loop() {
  const int width = options_.width, height = options_.height;
  const std::size_t row = static_cast<std::size_t>(width) * 4;
  std::vector<uint8_t> flipped;
  bool failed = false;
  for (;;) {
    Frame frame;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and everything queued is written
      frame = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();  // room in the queue
    }
    if (failed) continue;  // drain: frames after an error are dropped
    const uint8_t* pixels = frame.rgba.data();
    if (frame.bottom_up) {  // GL's first row is the bottom one
      flipped.resize(frame.rgba.size());
      for (int y = 0; y < height; ++y)
        std::memcpy(flipped.data() + row * static_cast<std::size_t>(y),
                    frame.rgba.data() + row * static_cast<std::size_t>(height - 1 - y), row);
      pixels = flipped.data();
    }
    const bool ok = sink_->write(pixels, static_cast<int>(row));
    std::lock_guard lock(mutex_);
    if (ok) {
      ++progress_.frames_written;
      progress_.bytes = sink_->bytes();
    } else {
      failed = true;
      progress_.error = sink_->error();
      stopping_ = true;  // add_frame refuses from now on
      queue_.clear();
      changed_.notify_all();
    }
  }
  const bool finished = failed ? false : sink_->finish();
  std::lock_guard lock(mutex_);
  if (!failed && !finished) progress_.error = sink_->error();
  progress_.bytes = sink_->bytes();
  progress_.finishing = false;
  progress_.done = true;
  changed_.notify_all();
}

}  // namespace attnscope::gui
