// cmd_backward.cpp — `attnscope backward`: one training step of attention (forward that keeps P or lse, then the
// backward pass) on the chosen backend, through Backend::run_backward. Prints forward and backward time, peak
// memory by what holds it for inference, forward + saved and forward + backward, and the largest difference of dQ,
// dK and dV from the float64 reference (core/backward.hpp's reference_backward) on the same inputs and dO.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/experiment_flags.hpp"
#include "core/backward.hpp"
#include "core/cost_model.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kName = "backward";

// The float64 reference does B·H·Nq·Nk·d work in double per gradient; above this many score pairs it is skipped
// unless --check asks for it.
constexpr double kReferencePairsLimit = double(1 << 24);

const std::string& help_text() {
  static const std::string text =
      std::string(
          "attnscope backward [experiment flags] [--algo naive|flash|both] [--backend cpu|cuda] [--reps R]\n"
          "                   [--br B] [--bc B] [--budget-mib M] [--check | --no-check]\n"
          "\n"
          "Runs attention as training does: the forward keeps what the backward needs (naive: P of every head;\n"
          "flash: the log-sum-exp of every row), then dQ, dK and dV are computed from dO (drawn from --seed + 1).\n"
          "Prints the forward and backward time (median of --reps after one warm-up), the peak memory of\n"
          "inference, forward + saved and forward + backward by what holds it (Q/K/V/O, saved, dO and gradients,\n"
          "workspace), and the largest |difference| of dQ, dK, dV from a float64 reference on the same inputs.\n"
          "\n"
          "  --algo       naive, flash or both                                           default both\n"
          "  --backend    where it runs (the CPU backend has the backward twins)         default cpu\n"
          "  --reps       timed runs, 1..1000                                            default 3\n"
          "  --br --bc    flash's tile sizes, 1..1024                                    default 64, 64\n"
          "  --budget-mib refuse a run whose peak would pass this many MiB (0: the backend's capacity) default 0\n"
          "  --check      compare with the float64 reference at any size; --no-check never (default: only when\n"
          "               B·H·N² is at most 16M pairs)\n") +
      experiment_flags_help() +
      "\nExit status: 0 success; 1 a run failed (out of memory, the backend has no backward pass) or a gradient\n"
      "differs from the reference by more than 2e-4 × its largest |value| + 2e-5; 2 usage error (unknown flag,\n"
      "bad value; nothing was run).\n\n"
      "example: attnscope backward --n 1024 --heads 4 --causal";
  return text;
}

struct GradientError {
  double worst = 0, largest = 0;
  bool finite = true;
  bool within() const { return finite && worst <= 2e-4 * largest + 2e-5; }
};
GradientError compare(const std::vector<float>& got, const std::vector<double>& want) {
  GradientError e;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i])) e.finite = false;
    e.worst = std::max(e.worst, std::abs(got[i] - want[i]));
    e.largest = std::max(e.largest, std::abs(want[i]));
  }
  return e;
}

std::string bytes(uint64_t b) { return format_bytes(static_cast<double>(b)); }

void print_memory(const BackwardRunResult& r, Algorithm a) {
  const TrainingMemory* stages[] = {&r.forward_only, &r.forward_saved, &r.forward_backward};
  std::printf("  peak memory         %14s %14s %14s\n", "inference", "+ saved", "+ backward");
  auto row = [&](const char* name, uint64_t TrainingMemory::*field) {
    std::printf("  %-18s", name);
    for (const TrainingMemory* m : stages) std::printf(" %14s", bytes(m->*field).c_str());
    std::printf("\n");
  };
  row("Q, K, V, O", &TrainingMemory::tensors);
  row(a == Algorithm::Naive ? "saved P" : "saved lse", &TrainingMemory::saved);
  row("dO, dQ, dK, dV", &TrainingMemory::gradients);
  row("workspace", &TrainingMemory::workspace);
  std::printf("  %-18s", "total");
  for (const TrainingMemory* m : stages) std::printf(" %14s", bytes(m->total()).c_str());
  std::printf("\n  training peak / inference peak: %.2f×   capacity: %s (%s)\n",
              r.forward_only.total() ? static_cast<double>(r.forward_backward.total()) /
                                           static_cast<double>(r.forward_only.total())
                                     : 0.0,
              r.capacity_bytes ? bytes(r.capacity_bytes).c_str() : "unknown", r.capacity_words.c_str());
}

int run_backward_command(const std::vector<std::string>& argv) {
  std::vector<std::string> booleans = experiment_boolean_flags();
  booleans.push_back("--check");
  booleans.push_back("--no-check");
  Args args(argv, booleans);
  const std::string algo = args.get_or("--algo", "both"), backend_name = args.get_or("--backend", "cpu");
  const int64_t reps = args.get_int("--reps", 3, 1, 1000);
  const int64_t br = args.get_int("--br", 64, 1, 1024), bc = args.get_int("--bc", 64, 1, 1024);
  const int64_t budget_mib = args.get_int("--budget-mib", 0, 0, int64_t{1} << 30);
  ConfigResult config = apply_experiment_flags(args);
  std::vector<std::string> known = {"--algo", "--backend", "--reps", "--br", "--bc", "--budget-mib", "--check",
                                    "--no-check"};
  for (const std::string& f : experiment_flag_names()) known.push_back(f);
  std::vector<std::string> errors = config.errors;
  for (auto& e : args.errors(known)) errors.push_back(e);
  std::vector<Algorithm> algorithms;
  if (algo == "naive" || algo == "both") algorithms.push_back(Algorithm::Naive);
  if (algo == "flash" || algo == "both") algorithms.push_back(Algorithm::Flash);
  if (algorithms.empty()) errors.push_back("--algo '" + algo + "': choose naive, flash or both");
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  if (args.has("--check") && args.has("--no-check")) errors.push_back("--check and --no-check: choose one");
  if (int rc = report_errors(kName, errors)) return rc;

  std::string why;
  auto backend = make_backend(backend_name, &why);
  if (!backend) {
    std::cerr << "attnscope backward: " << why << "\n";
    return 1;
  }
  SpecResult spec = to_spec(config.config, backend->limits());
  if (!spec.ok) {
    for (auto& e : spec.errors) std::cerr << "attnscope backward: " << e << "\n";
    return 2;
  }
  spec.spec.dtype = DType::F32;  // the backward pass computes and stores in fp32
  const AttentionInputs inputs = generate_inputs(spec.spec, config.config.generator, config.config.seed);
  const std::vector<float> d_out = random_d_out(spec.spec, config.config.seed + 1);
  const double pairs = static_cast<double>(spec.spec.batch * spec.spec.q_heads) * static_cast<double>(spec.spec.q_len) *
                       static_cast<double>(spec.spec.kv_len);
  const bool check = args.has("--check") || (!args.has("--no-check") && pairs <= kReferencePairsLimit);
  std::printf("backward on %s (%s): %s, dO drawn from seed %llu\n", backend->name().c_str(),
              backend->device_name().c_str(), spec.spec.label().c_str(),
              static_cast<unsigned long long>(config.config.seed + 1));
  std::optional<BackwardReference> reference;
  if (check) reference = reference_backward(inputs, d_out);

  int status = 0;
  for (Algorithm a : algorithms) {
    BackwardRequest request;
    request.algorithm = a;
    request.inputs = &inputs;
    request.d_out = &d_out;
    request.tiles = TileConfig{static_cast<int>(br), static_cast<int>(bc)};
    request.repetitions = static_cast<int>(reps);
    request.want_gradients = check;
    request.memory_budget_bytes = static_cast<uint64_t>(budget_mib) << 20;
    const BackwardRunResult r = backend->run_backward(request);
    std::printf("\n%s\n", algorithm_name(a));
    if (!r.ok) {
      std::printf("  failed: %s\n", r.error.c_str());
      if (r.out_of_memory) {
        std::printf("  would need %s against %s\n", bytes(r.bytes_needed).c_str(), bytes(r.bytes_free).c_str());
        print_memory(r, a);
      }
      status = 1;
      continue;
    }
    std::printf("  %s\n", r.kernel.c_str());
    std::printf("  forward  %10.3f ms (min %.3f, max %.3f)   %s\n", r.forward_timing.median_ms, r.forward_timing.min_ms,
                r.forward_timing.max_ms, format_si(r.forward_flops, "FLOP").c_str());
    std::printf("  backward %10.3f ms (min %.3f, max %.3f)   %s   backward / forward %.2f×\n",
                r.backward_timing.median_ms, r.backward_timing.min_ms, r.backward_timing.max_ms,
                format_si(r.backward_flops, "FLOP").c_str(),
                r.forward_timing.median_ms > 0 ? r.backward_timing.median_ms / r.forward_timing.median_ms : 0.0);
    print_memory(r, a);
    if (reference) {
      const GradientError dq = compare(r.dq, reference->dq), dk = compare(r.dk, reference->dk),
                          dv = compare(r.dv, reference->dv);
      std::printf("  max |error| against the float64 reference: dQ %.3g (of %.3g), dK %.3g (of %.3g), dV %.3g (of %.3g)%s\n",
                  dq.worst, dq.largest, dk.worst, dk.largest, dv.worst, dv.largest,
                  dq.within() && dk.within() && dv.within() ? "" : "   OUT OF TOLERANCE");
      if (!(dq.within() && dk.within() && dv.within())) status = 1;
    } else {
      std::printf("  not compared with the float64 reference (B·H·N² above 16M pairs; --check compares anyway)\n");
    }
  }
  return status;
}

}  // namespace

const Command kBackwardCommand{"backward", "training's forward + backward: time, memory by category, error vs float64",
                               help_text().c_str(), run_backward_command};

}  // namespace attnscope::app
