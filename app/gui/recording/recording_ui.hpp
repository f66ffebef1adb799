// recording_ui.hpp — recording from the app: the Record button (top right) and Ctrl R, a dialog to choose MP4 /
// GIF / PNG sequence, the path and the frame rate, progress while recording (frames, seconds of video, file size),
// and the result or the error afterwards.
//
// While recording the app runs on a fixed time step (UiState::fixed_time_step = 1 / fps, applied by App::frame):
// every animation advances exactly one video frame per drawn frame, whatever the real frame rate, and readouts
// that differ between runs are hidden. Each frame is read back from the framebuffer (glReadPixels) and queued to
// the Recorder's writer thread; the recording's own controls are drawn after the read-back, so they are on
// screen but not in the video.
#pragma once
#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "app/gui/recording/recorder.hpp"

struct ImDrawData;
struct ImDrawList;

namespace attnscope::gui {

class Platform;
struct UiState;

class RecordingController {
 public:
  explicit RecordingController(UiState& ui) : ui_(ui) {}
  ~RecordingController();

  // Inside the ImGui frame, after the app's window: Ctrl R, the button, the dialog, the progress line.
  void draw(const Platform& platform);
  // Renders the frame into the bound target; while recording, reads it back and queues it before drawing the
  // recording's own controls on top.
  void render(ImDrawData* draw_data, const Platform& platform);

  // The dialog's Start, also for tests and tools: frames are captured from the next frame on.
  bool start(const RecordOptions& options, std::string* error);
  void stop();            // the file is finished in the background; the app returns to real time at once
  bool finish_and_wait(); // stop and wait for the writer (shutdown, tests); true when the file is complete
  bool recording() const { return recorder_ && recorder_->recording(); }
  bool busy() const { return recorder_ && recorder_->running(); }  // recording or still finishing
  const Recorder* recorder() const { return recorder_.get(); }
  void open_dialog();  // the Record dialog (the button and Ctrl R call this)

 private:
  void draw_dialog(const Platform& platform);
  void draw_overlay(const Platform& platform);
  void set_default_path();

  UiState& ui_;
  std::unique_ptr<Recorder> recorder_;
  int start_frame_ = 0;                 // ImGui frame in which recording started (captured from the next one)
  ImDrawList* overlay_list_ = nullptr;  // the controls' draw list this frame, left out of the captured frame
  bool open_dialog_ = false;
  RecordFormat format_ = RecordFormat::Mp4;
  std::array<char, 1024> path_{};
  int64_t fps_ = 30;
  std::string fps_problem_;  // why the typed rate was not applied; empty when it was
  std::string dialog_error_;
  std::string result_;  // "saved ..." or the error, shown after a recording ends
  bool result_is_error_ = false;
  std::chrono::steady_clock::time_point result_until_;
  bool result_pending_ = false;  // a recording has ended and its result is not shown yet
};

}  // namespace attnscope::gui
