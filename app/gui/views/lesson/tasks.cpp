// tasks.cpp — a lesson step's "run" on the worker thread: every algorithm at every N, timed by the backend, and
// the length from which the backend refuses each algorithm for memory. No ImGui: built into the models library.
#include <chrono>
#include <new>

#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/lesson/model.hpp"
#include "core/lesson_values.hpp"
#include "core/selective_scan.hpp"

namespace attnscope::gui {
namespace {

// The spec a step's run measures at length n (decode: one new query against a cache of n tokens).
AttentionSpec spec_at(const AttentionSpec& base, Algorithm algorithm, int64_t n) {
  AttentionSpec s = base;
  s.kv_len = n;
  s.q_len = algorithm == Algorithm::Decode ? 1 : n;
  return s;
}

// The backend's own rule (its limits(), as Backend::run applies them): refused for memory at this length.
bool refused_for_memory(const AttentionSpec& spec, const SpecLimits& limits, Algorithm algorithm) {
  return !validate(spec, limits, materialises_scores(algorithm)).empty() && validate(spec, limits, false).empty();
}

// The smallest length in (ok_below, refused] the backend refuses, by bisection on its rule; `refused` when the
// refusal came from the run itself (out of memory at allocation), which only a run can tell.
int64_t first_refused(const AttentionSpec& base, const SpecLimits& limits, Algorithm algorithm, int64_t ok_below,
                      int64_t refused) {
  if (!refused_for_memory(spec_at(base, algorithm, refused), limits, algorithm)) return refused;
  int64_t lo = ok_below, hi = refused;  // lo runs (or is 0), hi is refused
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (refused_for_memory(spec_at(base, algorithm, mid), limits, algorithm)) hi = mid;
    else lo = mid;
  }
  return hi;
}

}  // namespace

namespace {

// Linear attention on the step's shape at N (its causal flag; no other pattern), or the selective scan at the same
// width: channels = heads · d, state 16, batch as the step's.
void time_sequence_model(Backend& backend, const AttentionSpec& base, const std::string& name, int64_t n,
                         LessonMeasure& m) {
  SequenceRunResult r;
  try {
    if (name == kSequenceModelRuns[0]) {
      AttentionSpec spec = base;
      spec.q_len = spec.kv_len = n;
      spec.dtype = DType::F32;
      const bool causal = spec.mask.causal;
      spec.mask = MaskSpec{};
      spec.mask.causal = causal;
      const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 1);
      LinearAttentionRunRequest req;
      req.inputs = &in;
      req.repetitions = 3;
      req.want_output = false;
      r = backend.run_linear_attention(req);
    } else {
      const ScanInputs in = generate_scan_inputs({base.batch, n, base.q_heads * base.head_dim, 16}, 1);
      SelectiveScanRunRequest req;
      req.inputs = &in;
      req.repetitions = 3;
      req.want_output = false;
      r = backend.run_selective_scan(req);
    }
  } catch (const std::bad_alloc&) {
    m.out_of_memory = true;
    m.error = "no host memory for the inputs of " + name + " at N = " + std::to_string(n);
    return;
  }
  m.ok = r.ok;
  m.out_of_memory = r.out_of_memory;
  m.error = r.error;
  m.median_ms = r.timing.median_ms;
  m.flops = r.flops;
  m.bytes_moved = r.bytes_moved;
  m.bytes_allocated = r.bytes_allocated;
}

}  // namespace

TaskFn<LessonRunResult> make_lesson_run_task(const ExperimentConfig& config, const LessonRun& run) {
  const std::string key = run_key(config, run);
  return [config, run, key](Backend& backend, TaskControl& control) -> LessonRunResult {
    const auto start = std::chrono::steady_clock::now();
    LessonRunResult result;
    result.key = key;
    const SpecLimits limits = backend.limits();
    result.max_len = limits.max_len;
    // The step's shape at any length; each algorithm is then checked against the backend's limits.
    SpecLimits unlimited;
    unlimited.max_len = int64_t{1} << 40;
    unlimited.score_matrix_bytes = ~uint64_t{0};
    unlimited.max_head_dim = limits.max_head_dim;
    const SpecResult base = to_spec(config, unlimited);
    const std::vector<int64_t> ns = run.ns.empty() ? std::vector<int64_t>{config.n} : run.ns;
    const size_t total = ns.size() * run.algorithms.size();
    size_t done = 0;
    for (int64_t n : ns) {
      std::optional<AttentionInputs> inputs;  // generated once per length and query count, when something runs
      int64_t inputs_q_len = -1;
      for (const std::string& name : run.algorithms) {
        if (control.cancel) return result;
        LessonMeasure m;
        m.algorithm = name;
        m.n = n;
        if (base.ok && (name == kSequenceModelRuns[0] || name == kSequenceModelRuns[1])) {
          control.set_status("timing " + name + " at N = " + std::to_string(n));
          time_sequence_model(backend, base.spec, name, n, m);
          result.measures.push_back(m);
          control.progress = static_cast<double>(++done) / static_cast<double>(total);
          continue;
        }
        const std::optional<Algorithm> algorithm = parse_algorithm(name);
        if (!base.ok || !algorithm) {
          m.error = base.ok ? "unknown algorithm '" + name + "'" : base.errors.front();
          result.measures.push_back(m);
          continue;
        }
        const AttentionSpec spec = spec_at(base.spec, *algorithm, n);
        control.set_status("timing " + name + " at N = " + std::to_string(n));
        // Refused by the backend's limits: its answer, without generating inputs it would not take.
        if (auto problems = validate(spec, limits, materialises_scores(*algorithm)); !problems.empty()) {
          m.error = problems.front();
          m.out_of_memory = refused_for_memory(spec, limits, *algorithm);
          result.measures.push_back(m);
          continue;
        }
        const RunDtype rd = choose_run_dtype(backend, *algorithm, spec);
        if (!rd.ok) {
          m.error = rd.refused;
          result.measures.push_back(m);
          continue;
        }
        try {
          if (!inputs || inputs_q_len != spec.q_len) {
            inputs.reset();
            inputs = generate_inputs(spec, config.generator, config.seed);
            inputs_q_len = spec.q_len;
          }
        } catch (const std::bad_alloc&) {
          m.out_of_memory = true;
          m.error = "no host memory for the inputs of " + spec.label();
          result.measures.push_back(m);
          continue;
        }
        inputs->spec.dtype = rd.dtype;
        RunRequest request;
        request.algorithm = *algorithm;
        request.inputs = &*inputs;
        request.warmup = 1;
        request.repetitions = 3;
        request.want_output = false;
        const RunResult r = backend.run(request);
        inputs->spec.dtype = spec.dtype;
        m.ok = r.ok;
        m.out_of_memory = r.out_of_memory;
        m.error = r.error;
        m.median_ms = r.timing.median_ms;
        m.flops = r.flops;
        m.bytes_moved = r.bytes_moved;
        m.bytes_allocated = r.bytes_allocated;
        if (run.training && r.ok) {
          // Training: forward that keeps P or lse, then the backward, on the same inputs (fp32).
          control.set_status("training " + name + " at N = " + std::to_string(n) + ": forward + backward");
          inputs->spec.dtype = DType::F32;
          BackwardRequest training;
          training.algorithm = *algorithm;
          training.inputs = &*inputs;
          training.d_out_seed = config.seed + 1;
          training.warmup = 1;
          training.repetitions = 3;
          training.want_gradients = false;
          const BackwardRunResult t = backend.run_backward(training);
          inputs->spec.dtype = spec.dtype;
          m.trained = t.ok;
          m.training_error = t.ok ? "" : t.error;
          m.forward_ms = t.forward_timing.median_ms;
          m.backward_ms = t.backward_timing.median_ms;
          m.inference_peak = t.forward_only.total();
          m.training_peak = t.forward_backward.total();
          m.saved_bytes = t.forward_backward.saved;
        }
        result.measures.push_back(m);
        control.progress = static_cast<double>(++done) / static_cast<double>(total);
      }
    }
    // Where each algorithm stops fitting: the first refused length of the run, narrowed by the backend's rule;
    // when every length ran, the backend's rule up to its longest sequence.
    for (const std::string& name : run.algorithms) {
      const std::optional<Algorithm> algorithm = parse_algorithm(name);
      if (!algorithm || !base.ok) continue;
      int64_t ok_below = 0;
      std::optional<int64_t> refused;
      for (int64_t n : ns) {
        const LessonMeasure* m = nullptr;
        for (const LessonMeasure& x : result.measures)
          if (x.algorithm == name && x.n == n) m = &x;
        if (!m) continue;
        if (m->ok) ok_below = std::max(ok_below, n);
        else if (m->out_of_memory && (!refused || n < *refused)) refused = n;
      }
      if (!refused && refused_for_memory(spec_at(base.spec, *algorithm, limits.max_len), limits, *algorithm))
        refused = limits.max_len;
      if (refused) result.oom_from[name] = first_refused(base.spec, limits, *algorithm, std::min(ok_below, *refused - 1), *refused);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  };
}

}  // namespace attnscope::gui
