// cmd_run.cpp — `attnscope run`: attention on Q, K, V read from .npy files, O written as .npy, on the CPU or
// CUDA backend. Lets users check attnscope against PyTorch / NumPy on their own data.
#include <cstdio>
#include <iostream>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/finite_check.hpp"
#include "core/npy.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kHelp =
    "attnscope run --q Q.npy --k K.npy --v V.npy --out O.npy [--algo naive|flash|...] [--mask SPEC] [--causal]\n"
    "              [--backend cpu|cuda] [--dtype fp32|fp16|bf16] [--scale S] [--reps R]\n"
    "\n"
    "Reads Q, K, V (float32 or float16 .npy, C order) shaped [N, d], [H, N, d] or [B, H, N, d]; K and V may have\n"
    "fewer heads than Q (GQA: query head h uses KV head h / (H_q / H_kv)). With fewer queries than keys, the\n"
    "queries are the last tokens of the sequence (causal masks line up with the end). Writes O in Q's shape as\n"
    "float32 .npy and prints the time (median of --reps runs after one warm-up).\n"
    "\n"
    "  --algo     default flash; naive materialises S and P\n"
    "  --backend  default cpu; cuda when built with CUDA and a device is present\n"
    "  --dtype    storage on the device (default fp32); inputs are rounded to it, arithmetic stays fp32\n"
    "  --scale    softmax scale (default 1/sqrt(d))\n"
    "  --mask     pattern, terms joined by '+' (default dense); --causal (or --causal=true|false) adds causal:\n"
    "               dense | causal | window:W | window:L,R | strided:S[,B] | dilated:W,S | global:G\n"
    "               random:D[,seed[,block]] | grid:B:ROWS      e.g. window:256+global:8\n"
    "  --reps     timed runs, 1..1000 (default 1)\n"
    "\n"
    "Exit status: 0 success; 1 the run failed (an input unreadable or malformed, the backend unavailable, the\n"
    "kernel failed, O not written); 2 usage error (unknown flag, missing or bad value; nothing was read or run).\n";

int run_run(const std::vector<std::string>& argv) {
  Args args(argv, {"--causal"});
  const auto q_path = args.get("--q"), k_path = args.get("--k"), v_path = args.get("--v"), out_path = args.get("--out");
  const std::string algo_name = args.get_or("--algo", "flash"), backend_name = args.get_or("--backend", "cpu");
  const std::string dtype_text = args.get_or("--dtype", "fp32"), mask_text = args.get_or("--mask", "dense");
  const double scale = args.get_real("--scale", 1.0);  // the fallback only stands in for a value already reported
  const int64_t reps = args.get_int("--reps", 1, 1, 1000);
  std::vector<std::string> errors =
      args.errors({"--q", "--k", "--v", "--out", "--algo", "--mask", "--causal", "--backend", "--dtype", "--scale",
                   "--reps"});
  for (auto [flag, value] : {std::pair{"--q", q_path}, {"--k", k_path}, {"--v", v_path}, {"--out", out_path}})
    if (!value) errors.push_back(std::string(flag) + " is required");
  if (auto problem = backend_name_problem(backend_name); !problem.empty()) errors.push_back("--backend " + problem);
  const auto algorithm = parse_algorithm(algo_name);
  if (!algorithm) errors.push_back("--algo '" + algo_name + "' is not an algorithm (naive, flash, flash1, block-sparse, ...)");
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) errors.push_back("--dtype '" + dtype_text + "': choose fp32, fp16 or bf16");
  auto mask = parse_mask(mask_text);
  if (!mask.ok) errors.push_back("--mask: " + mask.error);
  if (args.get("--scale") && !(scale > 0)) errors.push_back("--scale '" + *args.get("--scale") + "': must be a positive number");
  if (int rc = report_errors("run", errors)) return rc;

  // O must not replace an input: the run would read one file and write over it (or over its hard link).
  for (const auto& input : {*q_path, *k_path, *v_path})
    if (input == *out_path || same_existing_file(input, *out_path)) {
      std::cerr << "attnscope run: --out " << *out_path << " is the input " << input
                << "; writing O there would destroy it: choose another output path\n";
      return 1;
    }
  NpyReadResult q = read_npy(*q_path), k = read_npy(*k_path), v = read_npy(*v_path);
  for (const auto* r : {&q, &k, &v})
    if (!r->ok) {
      std::cerr << "attnscope run: " << r->error << "\n";
      return 1;
    }
  auto problem = attention_from_npy(q.array, k.array, v.array, *q_path, *k_path, *v_path);
  if (!problem.ok) {
    std::cerr << "attnscope run: " << problem.error << "\n";
    return 1;
  }
  AttentionInputs& inputs = problem.inputs;
  inputs.spec.dtype = *dtype;
  inputs.spec.mask = mask.mask;
  if (args.has("--causal")) inputs.spec.mask.causal = true;
  if (args.has("--scale")) inputs.spec.scale = scale;

  // Checked here for every backend (the CPU backend also refuses): NaN/Inf would give NaN rows or zero rows
  // that look masked.
  if (const NonFiniteReport bad = find_non_finite(inputs); bad.any()) {
    std::cerr << "attnscope run: non-finite inputs: "
              << bad.describe("Q (" + *q_path + ")", "K (" + *k_path + ")", "V (" + *v_path + ")")
              << "; nothing was written\n";
    return 1;
  }
  // fp16 storage turns |x| >= 65520 into ±Inf on the device (the CPU computes in fp32 and would hide it).
  if (*dtype == DType::F16)
    if (const NonFiniteReport big = find_beyond(inputs, kFp16Overflow); big.any()) {
      std::cerr << "attnscope run: --dtype fp16 cannot store the inputs: "
                << big.describe("Q (" + *q_path + ")", "K (" + *k_path + ")", "V (" + *v_path + ")")
                << "; they would become ±Inf (fp16 holds up to 65504): use --dtype fp32 or bf16, or scale them; "
                   "nothing was written\n";
      return 1;
    }

  std::string why;
  auto backend = make_backend(backend_name, &why);
  if (!backend) {
    std::cerr << "attnscope run: the " << backend_name << " backend is not available: " << why << "\n";
    return 1;
  }
  if (auto problems = validate(inputs.spec, backend->limits(), materialises_scores(*algorithm)); !problems.empty()) {
    std::cerr << "attnscope run: " << problems.front() << "\n";
    return 1;
  }
  if (!backend->supports(*algorithm, inputs.spec, &why)) {
    std::cerr << "attnscope run: " << why << "\n";
    return 1;
  }
  RunRequest request;
  request.algorithm = *algorithm;
  request.inputs = &inputs;
  request.warmup = 1;
  request.repetitions = static_cast<int>(reps);
  const RunResult result = backend->run(request);
  if (!result.ok) {
    std::cerr << "attnscope run: " << (result.out_of_memory ? "out of memory: " : "") << result.error << "\n";
    return 1;
  }
  if (auto err = write_npy(*out_path, q.array.shape, result.output.data()); !err.empty()) {
    std::cerr << "attnscope run: " << err << "\n";
    return 1;
  }
  std::printf("%s on %s (%s): %s\n", algorithm_name(*algorithm), result.backend.c_str(), result.device.c_str(),
              inputs.spec.summary().c_str());
  std::printf("time %.3f ms (median of %d; min %.3f, max %.3f)%s\n", result.timing.median_ms,
              static_cast<int>(result.timing.samples_ms.size()), result.timing.min_ms, result.timing.max_ms,
              result.fully_masked_rows ? (", " + std::to_string(result.fully_masked_rows) +
                                          " fully masked rows written as zeros").c_str()
                                       : "");
  std::printf("wrote %s %s float32\n", out_path->c_str(), q.array.shape_string().c_str());
  return 0;
}

}  // namespace

const Command kRunCommand{"run", "attention on Q/K/V .npy files, O written as .npy (check against PyTorch)", kHelp,
                          run_run};

}  // namespace attnscope::app
