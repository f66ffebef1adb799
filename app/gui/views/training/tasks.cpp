// tasks.cpp — the Training mode's work on the worker thread: the experiment trained with naive and with flash
// (Backend::run_backward), flash's backward loop traced on a reduced copy, and the sweep against N (points
// reported live). No ImGui: built into the models library.
#include <algorithm>
#include <chrono>

#include "app/gui/views/training/model.hpp"

namespace attnscope::gui {

TaskFn<TrainingRun> make_training_run_task(const ExperimentConfig& config, const AttentionSpec& spec, int number) {
  return [config, spec, number](Backend& backend, TaskControl& control) -> TrainingRun {
    const auto start = std::chrono::steady_clock::now();
    TrainingRun run;
    run.number = number;
    run.spec = spec;
    run.spec.dtype = DType::F32;  // the backward twins compute in fp32
    run.experiment = run.spec.label();
    control.set_status("generating the inputs of " + run.experiment);
    AttentionInputs inputs;
    try {
      inputs = generate_inputs(run.spec, config.generator, config.seed);
    } catch (const std::bad_alloc&) {
      run.naive.error = run.flash.error = "no host memory for the inputs of " + run.experiment;
      run.naive.out_of_memory = run.flash.out_of_memory = true;
      return run;
    }
    BackwardRequest request;
    request.inputs = &inputs;
    request.d_out_seed = config.seed + 1;
    request.warmup = 1;
    request.repetitions = kTrainingTimedRuns;
    request.want_gradients = false;
    const Algorithm algorithms[] = {Algorithm::Naive, Algorithm::Flash};
    for (int i = 0; i < 2; ++i) {
      if (control.cancel) {
        run.cancelled = true;
        return run;
      }
      control.set_status(std::string("training ") + algorithm_name(algorithms[i]) + ": forward, then backward (" +
                         std::to_string(i + 1) + " of 3)");
      request.algorithm = algorithms[i];
      (i == 0 ? run.naive : run.flash) = backend.run_backward(request);
      control.progress = (i + 1) / 3.0;
    }
    // The trace: flash on a copy reduced to kTrainingMaxTraceLen tokens and kTrainingMaxTraceHeads heads.
    AttentionSpec traced = run.spec;
    traced.q_len = std::min(traced.q_len, kTrainingMaxTraceLen);
    traced.kv_len = std::min(traced.kv_len, kTrainingMaxTraceLen);
    traced.batch = 1;
    if (traced.q_heads > kTrainingMaxTraceHeads) {
      traced.q_heads = kTrainingMaxTraceHeads;
      traced.kv_heads = std::max<int64_t>(1, kTrainingMaxTraceHeads / spec.group_size());
      traced.q_heads = traced.kv_heads * spec.group_size();
      if (traced.q_heads > kTrainingMaxTraceHeads) traced.q_heads = traced.kv_heads = 1;
    }
    run.traced_experiment = traced.label();
    if (!control.cancel) {
      control.set_status("tracing the flash backward loop on " + run.traced_experiment + " (3 of 3)");
      AttentionInputs small = generate_inputs(traced, config.generator, config.seed);
      BackwardRequest traced_request;
      traced_request.algorithm = Algorithm::Flash;
      traced_request.inputs = &small;
      traced_request.d_out_seed = config.seed + 1;
      traced_request.warmup = 0;
      traced_request.repetitions = 1;
      traced_request.want_gradients = false;
      traced_request.record_trace = true;
      BackwardRunResult t = backend.run_backward(traced_request);
      if (t.ok && t.trace) run.trace = std::move(t.trace);
      else run.trace_error = t.ok ? "the backend returned no trace of its backward loop" : t.error;
    }
    control.progress = 1.0;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
  };
}

TaskFn<TrainingSweep> make_training_sweep_task(const TrainingSweepConfig& config, std::shared_ptr<TrainingSweepLive> live) {
  return [config, live](Backend& backend, TaskControl& control) -> TrainingSweep {
    TrainingSweep sweep;
    sweep.config = config;
    sweep.series = {TrainingSweepSeries{Algorithm::Naive, {}}, TrainingSweepSeries{Algorithm::Flash, {}}};
    auto publish = [&] {
      std::lock_guard lock(live->mutex);
      live->partial = sweep;
      ++live->version;
    };
    publish();
    const size_t total = config.lengths.size() * sweep.series.size();
    size_t done = 0;
    for (TrainingSweepSeries& series : sweep.series) {
      bool capped = false;
      for (int64_t n : config.lengths) {
        if (control.cancel) {
          sweep.cancelled = true;
          return sweep;
        }
        TrainingSweepPoint point;
        point.n = n;
        if (capped) {
          point.status = TrainingPointStatus::OverTimeCap;
          point.note = "a shorter N took longer than the " + std::to_string(config.time_cap_s).substr(0, 4) +
                       " s cap; raise the cap to measure it";
          // Its peak, as the backend predicts it: a request with a 1-byte budget is refused before anything
          // runs, with the bytes it would need. Past the real budget the point is over budget, time aside.
          AttentionSpec spec;
          spec.batch = config.batch;
          spec.q_heads = config.heads;
          spec.kv_heads = config.kv_heads;
          spec.q_len = spec.kv_len = n;
          spec.head_dim = config.head_dim;
          spec.mask.causal = config.causal;
          try {
            AttentionInputs inputs = generate_inputs(spec, Generator::Gaussian, static_cast<uint64_t>(n));
            BackwardRequest ask;
            ask.algorithm = series.algorithm;
            ask.inputs = &inputs;
            ask.memory_budget_bytes = 1;
            const BackwardRunResult predicted = backend.run_backward(ask);
            if (predicted.out_of_memory) {
              point.peak_bytes = predicted.bytes_needed;
              point.saved_bytes = predicted.forward_backward.saved;
              const uint64_t budget = config.memory_budget_bytes ? config.memory_budget_bytes : sweep.capacity_bytes;
              if (budget && point.peak_bytes > budget) {
                point.status = TrainingPointStatus::OverBudget;
                point.note = std::string(algorithm_name(series.algorithm)) + " at N = " + std::to_string(n) + " needs " +
                             format_bytes(static_cast<double>(point.peak_bytes)) + ", over the budget of " +
                             format_bytes(static_cast<double>(budget));
              }
            }
          } catch (const std::bad_alloc&) {
          }
        } else {
          control.set_status(std::string(algorithm_name(series.algorithm)) + " forward + backward at N = " +
                             std::to_string(n));
          AttentionSpec spec;
          spec.batch = config.batch;
          spec.q_heads = config.heads;
          spec.kv_heads = config.kv_heads;
          spec.q_len = spec.kv_len = n;
          spec.head_dim = config.head_dim;
          spec.mask.causal = config.causal;
          BackwardRunResult r;
          try {
            // The inputs grow as N; the backend predicts the peak and refuses an over-budget point before it
            // allocates what grows as N², so such a point costs only its inputs.
            AttentionInputs inputs = generate_inputs(spec, Generator::Gaussian, static_cast<uint64_t>(n));
            BackwardRequest request;
            request.algorithm = series.algorithm;
            request.inputs = &inputs;
            request.warmup = 0;
            request.repetitions = std::max(1, config.repetitions);
            request.want_gradients = false;
            request.memory_budget_bytes = config.memory_budget_bytes;
            r = backend.run_backward(request);
          } catch (const std::bad_alloc&) {
            r.out_of_memory = true;
            r.error = "no host memory for the inputs at N = " + std::to_string(n);
          }
          if (sweep.capacity_bytes == 0 && r.capacity_bytes > 0) {
            sweep.capacity_bytes = r.capacity_bytes;
            sweep.capacity_words = r.capacity_words;
          }
          point.peak_bytes = r.ok ? r.forward_backward.total() : r.bytes_needed;
          point.saved_bytes = r.forward_backward.saved;
          if (r.ok) {
            point.forward_ms = r.forward_timing.median_ms;
            point.backward_ms = r.backward_timing.median_ms;
            capped = (point.forward_ms + point.backward_ms) * 1e-3 > config.time_cap_s;
          } else {
            point.status = r.out_of_memory ? TrainingPointStatus::OverBudget : TrainingPointStatus::Failed;
            point.note = r.error;
          }
        }
        series.points.push_back(point);
        control.progress = static_cast<double>(++done) / static_cast<double>(total);
        publish();
      }
    }
    return sweep;
  };
}

}  // namespace attnscope::gui
