// test_training_model.cpp — the Training mode's model without a display: the backward loop at an instant (tasks
// running / finished, visits done, dQ tiles' updates) on a hand-made trace and on a real one from the CPU backend,
// the memory segments in stacking order, and the sweep task's points (measured, and over a budget).
#include <doctest/doctest.h>

#include "app/gui/views/training/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

// Two K/V tiles of one KV head on two units; each visits two Q tiles of head 0, the second visit of tile 1 empty.
BackwardTrace two_task_trace() {
  BackwardTrace t;
  t.br = t.bc = 4;
  t.tr = 2;
  t.tc = 2;
  t.units = 2;
  t.tasks = {BackwardTaskRecord{0, 0, 0, 0, {{0, 0, 0, 10, 16}, {0, 1, 10, 20, 16}}},
             BackwardTaskRecord{0, 0, 1, 1, {{0, 0, 5, 15, 0}, {0, 1, 15, 30, 16}}}};
  return t;
}

}  // namespace

TEST_CASE("backward_loop_at: which tasks run, how many visits are done, which dQ tiles were added into") {
  const BackwardTrace trace = two_task_trace();
  const BackwardLoopAt start = backward_loop_at(trace, 0);
  CHECK(start.end_ns == 30);
  CHECK(start.running_tasks == 1);  // the second task starts at 5
  CHECK(start.tasks[0].current == 0);
  CHECK(start.tasks[1].current == -1);
  REQUIRE(start.dq_updates_total.size() == 2);
  CHECK(start.dq_updates_total[0] == 1);  // only task 0's visit of Q tile 0 has allowed pairs
  CHECK(start.dq_updates_total[1] == 2);

  const BackwardLoopAt mid = backward_loop_at(trace, 12);
  CHECK(mid.running_tasks == 2);
  CHECK(mid.tasks[0].visits_done == 1);
  CHECK(mid.tasks[0].current == 1);
  CHECK(mid.tasks[1].current == 0);
  CHECK(mid.dq_updates[0] == 1);
  CHECK(mid.dq_updates[1] == 0);

  const BackwardLoopAt late = backward_loop_at(trace, 25);
  CHECK(late.tasks[0].finished);
  CHECK_FALSE(late.tasks[0].running);
  CHECK(late.tasks[1].running);
  CHECK(late.dq_updates[1] == 1);

  const BackwardLoopAt end = backward_loop_at(trace, 30);
  CHECK(end.running_tasks == 0);
  CHECK(end.dq_updates == end.dq_updates_total);
}

TEST_CASE("backward_loop_at on a real CPU trace: at the end every dQ tile has every update, all tasks finished") {
  auto backend = make_cpu_backend(2);
  AttentionSpec spec;
  spec.q_heads = 2; spec.kv_heads = 1; spec.q_len = spec.kv_len = 90; spec.head_dim = 8;
  spec.mask.causal = true;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 4);
  BackwardRequest request;
  request.inputs = &in;
  request.tiles = TileConfig{32, 32};
  request.warmup = 0;
  request.repetitions = 1;
  request.record_trace = true;
  const BackwardRunResult r = backend->run_backward(request);
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.trace);
  const BackwardLoopAt end = backward_loop_at(*r.trace, INT64_MAX);
  for (const BackwardTaskAt& t : end.tasks) CHECK(t.finished);
  REQUIRE(end.dq_updates_total.size() == 2 * 3);
  CHECK(end.dq_updates == end.dq_updates_total);
  // Causal, Q tile 0 (rows 0..31) sees only K/V tile 0; Q tile 2 (rows 64..89) sees all three.
  CHECK(end.dq_updates_total[0] == 1);
  CHECK(end.dq_updates_total[2] == 3);
}

TEST_CASE("memory_segments stack Q/K/V/O, saved, gradients, workspace, naming naive's P and flash's lse") {
  TrainingMemory m;
  m.tensors = 1; m.saved = 2; m.gradients = 3; m.workspace = 4;
  const auto naive = memory_segments(m, Algorithm::Naive);
  CHECK(std::string(naive[1].category) == "saved P");
  CHECK(std::string(memory_segments(m, Algorithm::Flash)[1].category) == "saved lse");
  uint64_t sum = 0;
  for (const auto& s : naive) sum += s.bytes;
  CHECK(sum == m.total());
}

TEST_CASE("the training sweep task measures both series and marks points over a small budget") {
  auto backend = make_cpu_backend(2);
  TrainingSweepConfig config;
  config.lengths = {32, 64, 512};
  config.heads = config.kv_heads = 1;
  config.head_dim = 8;
  config.time_cap_s = 30;
  // Naive at N = 512 keeps P (1 MiB) and dP (1 MiB): over 1.5 MiB. Flash at 512 needs well under it.
  config.memory_budget_bytes = 3 << 19;
  auto live = std::make_shared<TrainingSweepLive>();
  TaskControl control;
  const TrainingSweep sweep = make_training_sweep_task(config, live)(*backend, control);
  REQUIRE(sweep.series.size() == 2);
  const TrainingSweepSeries& naive = sweep.series[0];
  const TrainingSweepSeries& flash = sweep.series[1];
  REQUIRE(naive.points.size() == 3);
  REQUIRE(flash.points.size() == 3);
  CHECK(naive.points[0].status == TrainingPointStatus::Measured);
  CHECK(naive.points[0].backward_ms > 0);
  CHECK(naive.points[2].status == TrainingPointStatus::OverBudget);
  CHECK(naive.points[2].peak_bytes > config.memory_budget_bytes);
  CHECK(naive.points[2].note.find("use flash") != std::string::npos);
  for (const auto& p : flash.points) CHECK(p.status == TrainingPointStatus::Measured);
  CHECK(sweep.capacity_bytes == config.memory_budget_bytes);
  std::lock_guard lock(live->mutex);
  CHECK(live->version >= 7);  // the empty sweep, then every point as it was decided
}
