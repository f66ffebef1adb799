// tasks.cpp — the Scaling mode's work on the worker thread: a timing run of every algorithm at its run dtype, the
// N sweep (points reported live), the ceilings and the memory readout. No ImGui: built into the models library.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/scaling/model.hpp"

namespace attnscope::gui {

TaskFn<TimingRun> make_timing_task(const ExperimentConfig& config, const AttentionSpec& spec, int repetitions,
                                   int number) {
  return [config, spec, repetitions, number](Backend& backend, TaskControl& control) -> TimingRun {
    const auto start = std::chrono::steady_clock::now();
    TimingRun run;
    run.number = number;
    run.experiment = spec.label();
    run.spec = spec;
    run.repetitions = repetitions;
    control.set_status("generating the inputs of " + run.experiment);
    AttentionInputs inputs;
    try {
      inputs = generate_inputs(spec, config.generator, config.seed);
    } catch (const std::bad_alloc&) {
      AlgorithmTiming t;
      t.dtype = spec.dtype;
      t.out_of_memory = true;
      t.error = "no host memory for the inputs of " + run.experiment;
      run.algorithms.push_back(t);
      return run;
    }
    const auto algorithms = timed_algorithms();
    for (size_t i = 0; i < algorithms.size(); ++i) {
      if (control.cancel) {
        run.cancelled = true;
        break;
      }
      AlgorithmTiming t;
      t.algorithm = algorithms[i];
      // At the experiment's dtype, or else the closest one this backend has a kernel for (run_dtype.hpp).
      const RunDtype rd = choose_run_dtype(backend, t.algorithm, spec);
      if (!rd.ok) {  // not listed in the table; said below it
        run.not_run.push_back(std::string(algorithm_name(t.algorithm)) + ": " + rd.refused);
        continue;
      }
      t.dtype = rd.dtype;
      t.dtype_substituted = rd.substituted;
      t.dtype_refused = rd.refused;
      control.set_status("timing " + timing_label(t) + " (" + std::to_string(i + 1) + " of " +
                         std::to_string(algorithms.size()) + ")");
      // The same values at another storage type: the backend converts from the float inputs at upload.
      inputs.spec.dtype = rd.dtype;
      RunRequest request;
      request.algorithm = t.algorithm;
      request.inputs = &inputs;
      request.repetitions = repetitions;
      request.want_output = false;
      const RunResult r = backend.run(request);
      inputs.spec.dtype = spec.dtype;
      t.kernel = r.kernel;
      t.ok = r.ok;
      t.out_of_memory = r.out_of_memory;
      t.error = r.error;
      t.timing = r.timing;
      t.flops = r.flops;
      t.bytes_moved = r.bytes_moved;
      t.bytes_allocated = r.bytes_allocated;
      t.bytes_needed = r.bytes_needed;
      t.bytes_free = r.bytes_free;
      run.algorithms.push_back(t);
      control.progress = static_cast<double>(i + 1) / static_cast<double>(algorithms.size());
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
  };
}

TaskFn<SweepResult> make_sweep_task(const SweepConfig& config, std::shared_ptr<SweepLive> live) {
  return [config, live](Backend& backend, TaskControl& control) -> SweepResult {
    {
      std::lock_guard lock(live->mutex);
      live->partial = SweepResult{};
      live->partial.backend = backend.name();
      live->partial.device = backend.device_name();
      live->partial.config = config;
      for (auto& s : config.series) live->partial.series.push_back(SweepSeriesResult{s, {}, {}, {}});
      ++live->version;
    }
    SweepCallbacks cb;
    cb.should_stop = [&control] { return control.cancel.load(); };
    cb.progress = [&control](double f, const std::string& status) {
      control.progress = f;
      control.set_status(status);
    };
    cb.point_started = [&control](double fraction_when_done, double expected_s) {
      control.set_step_goal(fraction_when_done, expected_s);
    };
    cb.on_point = [&live, &config](int series, const SweepPoint& point) {
      std::lock_guard lock(live->mutex);
      auto& s = live->partial.series[static_cast<size_t>(series)];
      s.points.push_back(point);
      fit_series(s, config.fit_points);
      ++live->version;
    };
    return run_sweep(backend, config, cb);
  };
}

TaskFn<DeviceCeilings> make_ceilings_task() {
  return [](Backend& backend, TaskControl& control) -> DeviceCeilings {
    control.set_status("measuring the " + backend.name() + " ceilings: a large copy and a large matrix multiply");
    return backend.measure_ceilings();
  };
}

TaskFn<MemoryInfo> make_memory_task() {
  return [](Backend& backend, TaskControl&) -> MemoryInfo { return backend.memory(); };
}

}  // namespace attnscope::gui
