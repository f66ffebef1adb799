// model.cpp — the Training mode's model: point status names, the sweep it starts with, the memory stacks' segments
// and the backward loop at a replayed instant.
#include "app/gui/views/training/model.hpp"

#include <algorithm>

namespace attnscope::gui {

const char* training_point_status_name(TrainingPointStatus s) {
  switch (s) {
    case TrainingPointStatus::Measured: return "measured";
    case TrainingPointStatus::OverBudget: return "over the memory budget";
    case TrainingPointStatus::OverTimeCap: return "not run: over the time cap";
    case TrainingPointStatus::Failed: return "failed";
  }
  return "?";
}

TrainingSweepConfig initial_training_sweep_config(const AttentionSpec& experiment, const BackendCapabilities& backend) {
  TrainingSweepConfig c;
  for (int64_t n = 256; n <= 32768; n *= 2) c.lengths.push_back(n);
  c.batch = std::max<int64_t>(1, experiment.batch);
  c.heads = std::max<int64_t>(1, experiment.q_heads);
  c.kv_heads = std::max<int64_t>(1, experiment.kv_heads);
  c.head_dim = std::max<int64_t>(1, experiment.head_dim);
  c.causal = experiment.mask.causal;
  c.time_cap_s = backend.sweep_time_cap_s;
  return c;
}

std::array<MemorySegment, 4> memory_segments(const TrainingMemory& m, Algorithm algorithm) {
  return {MemorySegment{"Q, K, V, O", m.tensors},
          MemorySegment{algorithm == Algorithm::Naive ? "saved P" : "saved lse", m.saved},
          MemorySegment{"dO, dQ, dK, dV", m.gradients}, MemorySegment{"workspace", m.workspace}};
}

BackwardLoopAt backward_loop_at(const BackwardTrace& trace, int64_t time_ns) {
  BackwardLoopAt at;
  int32_t heads = 0;
  for (const BackwardTaskRecord& task : trace.tasks)
    for (const BackwardQVisit& v : task.visits) {
      at.end_ns = std::max(at.end_ns, v.end_ns);
      heads = std::max(heads, v.head + 1);
    }
  const size_t cells = static_cast<size_t>(heads) * static_cast<size_t>(std::max(0, trace.tr));
  at.dq_updates.assign(cells, 0);
  at.dq_updates_total.assign(cells, 0);
  at.tasks.reserve(trace.tasks.size());
  for (size_t t = 0; t < trace.tasks.size(); ++t) {
    const BackwardTaskRecord& task = trace.tasks[t];
    BackwardTaskAt s;
    s.task = static_cast<int32_t>(t);
    s.kv_tile = task.kv_tile;
    s.kv_head = task.kv_head;
    s.batch = task.batch;
    s.unit = task.unit;
    s.visits = static_cast<int32_t>(task.visits.size());
    for (size_t i = 0; i < task.visits.size(); ++i) {
      const BackwardQVisit& v = task.visits[i];
      const bool done = v.end_ns <= time_ns;
      if (done) ++s.visits_done;
      else if (v.start_ns <= time_ns) s.current = static_cast<int32_t>(i);
      if (task.batch != 0 || v.pairs == 0 || v.q_tile < 0 || v.q_tile >= trace.tr) continue;
      const size_t cell = static_cast<size_t>(v.head) * static_cast<size_t>(trace.tr) + static_cast<size_t>(v.q_tile);
      ++at.dq_updates_total[cell];
      if (done) ++at.dq_updates[cell];
    }
    s.finished = s.visits > 0 && s.visits_done == s.visits;
    s.running = !s.finished && !task.visits.empty() && task.visits.front().start_ns <= time_ns;
    at.running_tasks += s.running ? 1 : 0;
    at.tasks.push_back(s);
  }
  return at;
}

}  // namespace attnscope::gui
