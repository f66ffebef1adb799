// experiment_history.cpp — see experiment_history.hpp.
#include "app/gui/shell/experiment_history.hpp"

namespace attnscope::gui {

void ExperimentHistory::record(const ExperimentConfig& applied) {
  if (!entries_.empty() && entries_[current_] == applied) return;
  if (!entries_.empty()) entries_.resize(current_ + 1);  // a new edit drops the redo branch
  entries_.push_back(applied);
  if (entries_.size() > kMaxEntries) entries_.erase(entries_.begin());
  current_ = entries_.size() - 1;
}

std::optional<ExperimentConfig> ExperimentHistory::undo() {
  if (!can_undo()) return std::nullopt;
  return entries_[--current_];
}

std::optional<ExperimentConfig> ExperimentHistory::redo() {
  if (!can_redo()) return std::nullopt;
  return entries_[++current_];
}

}  // namespace attnscope::gui
