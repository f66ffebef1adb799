// file_dialog.hpp — Ctrl S / Ctrl O: save the experiment on screen as JSON, open one. Dear ImGui has no file
// dialog, so this is a compact modal: a path field, the *.json files of its folder (click one to pick it) and the
// recent experiments. Every failure (unreadable file, malformed JSON with its line, an experiment the backend
// cannot run, unwritable path, full disk) is shown in the modal and nothing is lost: the draft is replaced only by
// a valid file, and a failed save leaves the old file whole (write_file_atomically). An opened experiment goes
// through UiCommand::ApplyDraft, so it is an undo step.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "core/settings.hpp"

namespace attnscope::gui {

struct UiState;
struct ViewContext;

class ExperimentFileDialog {
 public:
  enum class Mode { Closed, Open, Save };

  void show(Mode mode, const Settings& settings);  // opens the modal, the path field at a sensible start
  // The modal again, at `path`, with the errors of the open() that just failed (File > Recent).
  void show_failed_open(const std::string& path);
  void close() {  // Esc: the modal closes in its next draw
    if (mode_ != Mode::Closed) close_requested_ = true;
  }
  Mode mode() const { return mode_; }
  void draw(ViewContext& ctx, Settings& settings);

  // What the buttons do; true on success (the path is remembered as recent). On failure `errors()` says why.
  bool save(const std::string& path, const ExperimentConfig& config, Settings& settings);
  bool open(const std::string& path, UiState& ui, const SpecLimits& limits, Settings& settings);
  const std::vector<std::string>& errors() const { return errors_; }
  const std::string& notice() const { return notice_; }  // "saved /x/y.json"

 private:
  void refresh_listing();
  std::string path_text() const { return path_.data(); }
  void set_path(const std::string& path);

  Mode mode_ = Mode::Closed;
  bool popup_requested_ = false, close_requested_ = false;
  std::array<char, 1024> path_{};
  std::string listed_dir_;
  std::vector<std::string> listing_;  // *.json file names in listed_dir_
  std::vector<std::string> errors_;
  std::string notice_;
  double notice_until_ = 0;
};

}  // namespace attnscope::gui
