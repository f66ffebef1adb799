// cmd_backward.cpp — `attnscope backward`: one training step of attention (forward that keeps P or lse, then the
// backward pass) on the chosen backend, through Backend::run_backward. Prints forward and backward time, peak
// memory by what holds it for inference, forward + saved and forward + backward, and the largest difference of dQ,
// dK and dV from the float64 reference (core/backward.hpp's reference_backward) on the same inputs and dO.
// Q, K, V and dO may come from .npy files (--q --k --v, --d-out) and dQ, dK, dV go to .npy files (--out-dq ...),
// so scripts/bench_sdpa.py can check the gradients against PyTorch autograd on the same numbers.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/experiment_flags.hpp"
#include "core/atomic_file.hpp"
#include "core/backward.hpp"
#include "core/cost_model.hpp"
#include "core/finite_check.hpp"
#include "core/npy.hpp"

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
          "                   [--q Q.npy --k K.npy --v V.npy] [--d-out DO.npy]\n"
          "                   [--out-dq DQ.npy] [--out-dk DK.npy] [--out-dv DV.npy]\n"
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
          "               B·H·N² is at most 16M pairs)\n"
          "  --q --k --v  Q, K, V from .npy files (all three; the rules of `attnscope run --help`: float32 or\n"
          "               float16, [N, d], [H, N, d] or [B, H, N, d], K and V may have fewer heads); the shape\n"
          "               flags (--n --d --heads --kv-heads --batch --generator --seed) are then not allowed\n"
          "  --d-out      dO from a .npy file of Q's shape (default: drawn from --seed + 1)\n"
          "  --out-dq --out-dk --out-dv   write that gradient as float32 .npy (dQ in Q's shape, dK and dV in\n"
          "               K's); needs --algo naive or flash. Each file is written whole or not at all, and none\n"
          "               is written when the run or its check fails\n") +
      experiment_flags_help() +
      "\nExit status: 0 success; 1 a run failed (out of memory, the backend has no backward pass), a gradient\n"
      "differs from the reference by more than 2e-4 × its largest |value| + 2e-5, an input file is unreadable or\n"
      "malformed (dO not of Q's shape, non-finite values) or an output file cannot be written; 2 usage error\n"
      "(unknown flag, bad value, --out-d* with --algo both; nothing was run).\n\n"
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

// An array's shape with leading 1s added up to rank 4: [N, d] and [1, 1, N, d] are the same layout.
std::vector<int64_t> as_rank4(std::vector<int64_t> shape) {
  while (shape.size() < 4) shape.insert(shape.begin(), 1);
  return shape;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string t = "[";
  for (size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
  return t + "]";
}

// Q, K, V and dO for the run, from files or drawn, with the shapes the gradients are written back in.
struct BackwardProblem {
  bool ok = false;
  std::string error;  // for exit 1: a file unreadable, malformed, of the wrong shape, or non-finite
  AttentionInputs inputs;
  std::vector<float> d_out;
  std::vector<int64_t> q_shape, kv_shape;  // as the files had them, else [B, H, N, d]
  std::string d_out_words;                 // "dO from DO.npy" or "dO drawn from seed S"
};

BackwardProblem load_problem(const ExperimentConfig& config, const AttentionSpec& drawn_spec,
                             const std::optional<std::string>& q_path, const std::optional<std::string>& k_path,
                             const std::optional<std::string>& v_path, const std::optional<std::string>& d_out_path) {
  BackwardProblem p;
  auto fail = [&p](std::string error) {
    p.error = std::move(error);
    return p;
  };
  if (q_path) {
    NpyReadResult q = read_npy(*q_path), k = read_npy(*k_path), v = read_npy(*v_path);
    for (const NpyReadResult* r : {&q, &k, &v})
      if (!r->ok) return fail(r->error);
    NpyAttention loaded = attention_from_npy(q.array, k.array, v.array, *q_path, *k_path, *v_path);
    if (!loaded.ok) return fail(loaded.error);
    p.inputs = std::move(loaded.inputs);
    p.inputs.spec.mask = drawn_spec.mask;  // the mask flags (--mask, --causal, --config) still apply
    p.q_shape = q.array.shape;
    p.kv_shape = k.array.shape;
    if (const NonFiniteReport bad = find_non_finite(p.inputs); bad.any())
      return fail("non-finite inputs: " + bad.describe("Q (" + *q_path + ")", "K (" + *k_path + ")",
                                                            "V (" + *v_path + ")"));
  } else {
    p.inputs = generate_inputs(drawn_spec, config.generator, config.seed);
    const AttentionSpec& s = drawn_spec;
    p.q_shape = {s.batch, s.q_heads, s.q_len, s.head_dim};
    p.kv_shape = {s.batch, s.kv_heads, s.kv_len, s.head_dim};
  }
  p.inputs.spec.dtype = DType::F32;  // the backward pass computes and stores in fp32
  if (d_out_path) {
    NpyReadResult d = read_npy(*d_out_path);
    if (!d.ok) return fail(d.error);
    if (as_rank4(d.array.shape) != as_rank4(p.q_shape))
      return fail(*d_out_path + ": dO is " + d.array.shape_string() + " but must have Q's shape " +
                       shape_text(p.q_shape) + " (O has Q's shape)");
    for (size_t i = 0; i < d.array.data.size(); ++i)
      if (!std::isfinite(d.array.data[i]))
        return fail(*d_out_path + ": dO has a non-finite value at flat index " + std::to_string(i) +
                         " (NaN or ±Inf would make every gradient it reaches NaN)");
    p.d_out = std::move(d.array.data);
    p.d_out_words = "dO from " + *d_out_path;
  } else {
    p.d_out = random_d_out(p.inputs.spec, config.seed + 1);
    p.d_out_words = "dO drawn from seed " + std::to_string(config.seed + 1);
  }
  p.ok = true;
  return p;
}

// One gradient file: its temporary file is opened before the run (an unwritable folder is found before any work)
// and renamed into place only after the run and its check succeeded; otherwise the destructor removes it.
struct GradientOutput {
  const char* flag;  // "--out-dq"
  const char* name;  // "dQ"
  std::string path;
  std::unique_ptr<AtomicFile> file;
};

int run_backward_command(const std::vector<std::string>& argv) {
  std::vector<std::string> booleans = experiment_boolean_flags();
  booleans.push_back("--check");
  booleans.push_back("--no-check");
  Args args(argv, booleans);
  const std::string algo = args.get_or("--algo", "both"), backend_name = args.get_or("--backend", "cpu");
  const int64_t reps = args.get_int("--reps", 3, 1, 1000);
  const int64_t br = args.get_int("--br", 64, 1, 1024), bc = args.get_int("--bc", 64, 1, 1024);
  const int64_t budget_mib = args.get_int("--budget-mib", 0, 0, int64_t{1} << 30);
  const auto q_path = args.get("--q"), k_path = args.get("--k"), v_path = args.get("--v");
  const auto d_out_path = args.get("--d-out");
  std::vector<GradientOutput> outputs;
  for (auto [flag, name] : {std::pair{"--out-dq", "dQ"}, {"--out-dk", "dK"}, {"--out-dv", "dV"}})
    if (auto path = args.get(flag)) outputs.push_back({flag, name, *path, nullptr});
  ConfigResult config = apply_experiment_flags(args);
  std::vector<std::string> known = {"--algo", "--backend", "--reps",  "--br",     "--bc",     "--budget-mib",
                                    "--check", "--no-check", "--q",   "--k",      "--v",      "--d-out",
                                    "--out-dq", "--out-dk",  "--out-dv"};
  for (const std::string& f : experiment_flag_names()) known.push_back(f);
  std::vector<std::string> errors = config.errors;
  for (auto& e : args.errors(known)) errors.push_back(e);
  std::vector<Algorithm> algorithms;
  if (algo == "naive" || algo == "both") algorithms.push_back(Algorithm::Naive);
  if (algo == "flash" || algo == "both") algorithms.push_back(Algorithm::Flash);
  if (algorithms.empty()) errors.push_back("--algo '" + algo + "': choose naive, flash or both");
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  if (args.has("--check") && args.has("--no-check")) errors.push_back("--check and --no-check: choose one");
  if ((q_path || k_path || v_path) && !(q_path && k_path && v_path))
    errors.push_back("--q, --k and --v come together: give all three .npy files or none");
  if (q_path)
    for (const char* shape_flag : {"--n", "--d", "--heads", "--kv-heads", "--batch", "--generator"})
      if (args.get(shape_flag))
        errors.push_back(std::string(shape_flag) + " with --q: the shapes come from the .npy files; drop " +
                         shape_flag);
  if (!outputs.empty() && algorithms.size() != 1)
    errors.push_back("--out-dq/--out-dk/--out-dv write one algorithm's gradients: give --algo naive or --algo flash");
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (outputs[i].path == outputs[j].path)
        errors.push_back(std::string(outputs[i].flag) + " and " + outputs[j].flag + " name the same file '" +
                         outputs[i].path + "': give each gradient its own file");
  if (int rc = report_errors(kName, errors)) return rc;

  // A gradient must not replace an input: the run reads the file and the write would destroy it.
  for (const GradientOutput& out : outputs)
    for (const auto& input : {q_path, k_path, v_path, d_out_path})
      if (input && (*input == out.path || same_existing_file(*input, out.path))) {
        std::cerr << "attnscope backward: " << out.flag << " " << out.path << " is the input " << *input
                  << "; writing " << out.name << " there would destroy it: choose another output path\n";
        return 1;
      }

  std::string why;
  auto backend = make_backend(backend_name, &why);
  if (!backend) {
    std::cerr << "attnscope backward: " << why << "\n";
    return 1;
  }
  // Without --q the shapes come from the flags; with --q the flags' shape is only the carrier of the mask.
  ExperimentConfig shape_config = config.config;
  if (q_path) {
    shape_config.n = shape_config.head_dim = shape_config.batch = 1;
    shape_config.heads = shape_config.kv_heads = 1;
  }
  SpecResult spec = to_spec(shape_config, backend->limits());
  if (!spec.ok) {
    for (auto& e : spec.errors) std::cerr << "attnscope backward: " << e << "\n";
    return 2;
  }
  BackwardProblem problem = load_problem(config.config, spec.spec, q_path, k_path, v_path, d_out_path);
  if (!problem.ok) {
    std::cerr << "attnscope backward: " << problem.error << "; nothing was run or written\n";
    return 1;
  }
  const AttentionInputs& inputs = problem.inputs;
  if (q_path)
    if (auto problems = validate(inputs.spec, backend->limits(), false); !problems.empty()) {
      std::cerr << "attnscope backward: " << problems.front() << "; nothing was run or written\n";
      return 1;
    }
  for (GradientOutput& out : outputs) {
    out.file = std::make_unique<AtomicFile>();
    if (const FileWriteResult opened = out.file->open(out.path); !opened.ok) {
      std::cerr << "attnscope backward: " << out.flag << ": " << opened.error << "; nothing was run or written\n";
      return 1;
    }
  }
  const std::vector<float>& d_out = problem.d_out;
  const double pairs = static_cast<double>(inputs.spec.batch * inputs.spec.q_heads) *
                       static_cast<double>(inputs.spec.q_len) * static_cast<double>(inputs.spec.kv_len);
  const bool check = args.has("--check") || (!args.has("--no-check") && pairs <= kReferencePairsLimit);
  std::printf("backward on %s (%s): %s, %s\n", backend->name().c_str(), backend->device_name().c_str(),
              inputs.spec.label().c_str(), problem.d_out_words.c_str());
  std::optional<BackwardReference> reference;
  if (check) reference = reference_backward(inputs, d_out);

  int status = 0;
  BackwardRunResult written;  // the run whose gradients go to --out-d* (one algorithm when they are given)
  for (Algorithm a : algorithms) {
    BackwardRequest request;
    request.algorithm = a;
    request.inputs = &inputs;
    request.d_out = &d_out;
    request.tiles = TileConfig{static_cast<int>(br), static_cast<int>(bc)};
    request.repetitions = static_cast<int>(reps);
    request.want_gradients = check || !outputs.empty();
    request.memory_budget_bytes = static_cast<uint64_t>(budget_mib) << 20;
    BackwardRunResult r = backend->run_backward(request);
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
    if (!outputs.empty()) written = std::move(r);
  }
  if (outputs.empty()) return status;
  if (status != 0) {  // the AtomicFiles' destructors remove their temporary files
    std::printf("\nno gradient written: the run %s\n", written.ok ? "is out of tolerance" : "failed");
    return status;
  }
  // Every file is written to its temporary file first; only when all three writes succeeded are they renamed into
  // place, so a full disk on the last leaves none of them (the others' destructors remove their temporaries).
  for (GradientOutput& out : outputs) {
    const std::vector<float>& g = out.name == std::string("dQ") ? written.dq
                                  : out.name == std::string("dK") ? written.dk
                                                                  : written.dv;
    const std::vector<int64_t>& shape = out.name == std::string("dQ") ? problem.q_shape : problem.kv_shape;
    if (!out.file->write(npy_bytes(shape, g.data()))) {
      std::cerr << "attnscope backward: " << out.flag << ": " << out.file->commit().error
                << "; no gradient file was written\n";
      return 1;
    }
  }
  for (GradientOutput& out : outputs)
    if (const FileWriteResult done = out.file->commit(); !done.ok) {
      std::cerr << "attnscope backward: " << out.flag << ": " << done.error << "\n";
      status = 1;
    } else {
      std::printf("wrote %s %s %s float32\n", out.name, out.path.c_str(),
                  shape_text(out.name == std::string("dQ") ? problem.q_shape : problem.kv_shape).c_str());
    }
  return status;
}

}  // namespace

const Command kBackwardCommand{"backward", "training's forward + backward: time, memory by category, error vs float64",
                               help_text().c_str(), run_backward_command};

}  // namespace attnscope::app
