// experiment_history.hpp — undo and redo of experiment edits (Ctrl Z / Ctrl Shift Z). Every experiment the app
// accepted is recorded in order; undo steps back, redo steps forward again, and a new edit after an undo drops the
// steps that could have been redone. No ImGui: in the models library, tested without a display.
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "core/experiment.hpp"

namespace attnscope::gui {

class ExperimentHistory {
 public:
  static constexpr std::size_t kMaxEntries = 200;  // the oldest are dropped beyond this

  // An experiment the app just applied; the same as the current entry records nothing.
  void record(const ExperimentConfig& applied);
  // The experiment before the current one (which becomes current), or nothing at the start.
  std::optional<ExperimentConfig> undo();
  // The experiment after the current one, or nothing at the end.
  std::optional<ExperimentConfig> redo();
  bool can_undo() const { return current_ > 0; }
  bool can_redo() const { return current_ + 1 < entries_.size(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<ExperimentConfig> entries_;
  std::size_t current_ = 0;  // index of the experiment on screen (valid when entries_ is not empty)
};

}  // namespace attnscope::gui
