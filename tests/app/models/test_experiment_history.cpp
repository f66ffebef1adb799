// test_experiment_history.cpp — undo/redo of experiment edits: steps back and forward, a new edit drops the redo
// branch, repeats are not recorded, the history stays bounded.
#include <doctest/doctest.h>

#include "app/gui/shell/experiment_history.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {
ExperimentConfig with_n(int64_t n) {
  ExperimentConfig c;
  c.n = n;
  return c;
}
}  // namespace

TEST_CASE("experiment history: undo, redo, and a new edit after an undo") {
  ExperimentHistory h;
  CHECK_FALSE(h.undo());
  h.record(with_n(100));
  CHECK_FALSE(h.can_undo());
  h.record(with_n(200));
  h.record(with_n(200));  // the same experiment again: not a step
  h.record(with_n(300));
  CHECK(h.size() == 3);
  CHECK(h.undo()->n == 200);
  CHECK(h.undo()->n == 100);
  CHECK_FALSE(h.undo());
  CHECK(h.redo()->n == 200);
  CHECK(h.can_redo());
  h.record(with_n(250));  // drops 300
  CHECK_FALSE(h.can_redo());
  CHECK(h.undo()->n == 200);
  CHECK(h.redo()->n == 250);
  CHECK_FALSE(h.redo());
}

TEST_CASE("experiment history: bounded, the oldest dropped") {
  ExperimentHistory h;
  for (int64_t n = 1; n <= static_cast<int64_t>(ExperimentHistory::kMaxEntries) + 50; ++n) h.record(with_n(n));
  CHECK(h.size() == ExperimentHistory::kMaxEntries);
  int steps = 0;
  std::optional<ExperimentConfig> last;
  while (auto c = h.undo()) {
    last = c;
    ++steps;
  }
  CHECK(steps == static_cast<int>(ExperimentHistory::kMaxEntries) - 1);
  CHECK(last->n == 51);
}
