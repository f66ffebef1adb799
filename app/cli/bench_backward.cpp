// bench_backward.cpp — see bench_backward.hpp.
#include "app/cli/bench_backward.hpp"

#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/rng.hpp"
#if defined(ATTNSCOPE_WITH_CUDA)
#include "kernels/backward_cuda.hpp"
#include "kernels/device_info.hpp"
#endif

namespace attnscope::app {

namespace {

nlohmann::json timing_json(const Timing& t) {
  return {{"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"max_ms", t.max_ms}, {"samples_ms", t.samples_ms}};
}

}  // namespace

std::string backward_bench_json(const BackwardBenchConfig& config, const std::string& device,
                                const std::vector<BackwardBenchRow>& rows) {
  const AttentionSpec& s = config.shape;
  nlohmann::json j;
  j["backend"] = "cuda";
  j["device"] = device;
  j["what"] = "forward + backward (training step) per algorithm and N; memory = the device plan of one step";
  j["config"] = {{"batch", s.batch},       {"heads", s.q_heads},         {"kv_heads", s.kv_heads},
                 {"d", s.head_dim},        {"dtype", dtype_name(s.dtype)}, {"mask", s.mask.to_string()},
                 {"reps", config.repetitions}, {"warmup", config.warmup}};
  j["rows"] = nlohmann::json::array();
  for (const BackwardBenchRow& row : rows) {
    const BackwardMemoryStack& m = row.memory;
    nlohmann::json r = {{"algorithm", algorithm_name(row.algorithm)},
                        {"n", row.n},
                        {"dtype", dtype_name(s.dtype)},
                        {"ok", row.ok},
                        {"memory", {{"inputs_bytes", m.inputs},
                                    {"gradients_bytes", m.gradients},
                                    {"saved_bytes", m.saved},
                                    {"workspace_bytes", m.workspace},
                                    {"staging_bytes", m.staging},
                                    {"total_bytes", m.total()}}},
                        {"saved_bytes", m.saved}};
    if (row.ok) {
      r["kernel"] = row.kernel;
      r["forward"] = timing_json(row.forward);
      r["backward"] = timing_json(row.backward);
      r["backward_over_forward"] =
          row.forward.median_ms > 0 ? row.backward.median_ms / row.forward.median_ms : 0.0;
    } else {
      r["error"] = row.error;
      r["out_of_memory"] = row.out_of_memory;
      r["unsupported"] = row.unsupported;
      if (row.out_of_memory) {
        r["bytes_needed"] = row.bytes_needed;
        r["bytes_free"] = row.bytes_free;
      }
    }
    j["rows"].push_back(std::move(r));
  }
  return j.dump(2) + "\n";
}

int run_backward_bench(const BackwardBenchConfig& config) {
  const std::string no_json = config.json_path.empty() ? "" : "; " + config.json_path + " not written";
#if !defined(ATTNSCOPE_WITH_CUDA)
  std::cerr << "attnscope bench --backward: this build has no CUDA backward kernels (no CUDA compiler was found at "
               "configure time)" << no_json << "\n";
  return 1;
#else
  std::string why_not;
  const auto devices = kernels::list_cuda_devices(&why_not);
  if (devices.empty()) {
    std::cerr << "attnscope bench: backend 'cuda' is not available: " << why_not << no_json << "\n";
    return 1;
  }
  std::cout << "backend cuda: " << devices.front().name << "\n";
  std::cout << "forward + backward on CUDA (" << dtype_name(config.shape.dtype) << " storage, fp32 arithmetic): B=" << config.shape.batch << " H=" << config.shape.q_heads << "/"
            << config.shape.kv_heads << " d=" << config.shape.head_dim << " mask " << config.shape.mask.to_string()
            << ", " << config.warmup << " warm-up + " << config.repetitions
            << " timed runs of each pass; memory = the device plan of one training step's attention "
               "(inputs, O, dO, gradients, saved P or lse, workspace)\n\n";
  std::printf("%-8s %7s %12s %12s %9s %12s %12s\n", "algo", "N", "forward ms", "backward ms", "bwd/fwd", "memory",
              "saved");
  std::vector<BackwardBenchRow> rows;
  int failures = 0;
  for (int64_t n : config.ns) {
    for (Algorithm algorithm : config.algorithms) {
      AttentionSpec spec = config.shape;
      spec.q_len = spec.kv_len = n;
      BackwardBenchRow row;
      row.algorithm = algorithm;
      row.n = n;
      const kernels::BackwardDevicePlan plan = kernels::plan_backward_memory(algorithm, spec);
      row.memory = {plan.inputs_bytes, plan.gradients_bytes, plan.saved_bytes, plan.workspace_bytes,
                    plan.staging_bytes};
      if (std::string why = kernels::backward_unsupported(algorithm, spec); !why.empty()) {
        row.unsupported = true;
        row.error = why;
      } else {
        try {
          const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 4321 + static_cast<uint64_t>(n));
          std::vector<float> d_out(in.q.size());
          Rng rng(77 + static_cast<uint64_t>(n));
          for (float& g : d_out) g = static_cast<float>(rng.normal());
          kernels::BackwardCudaOptions options;
          options.warmup = config.warmup;
          options.repetitions = config.repetitions;
          options.want_forward_outputs = false;
          const kernels::CudaBackwardRun run = kernels::run_backward_cuda(in, d_out, algorithm, options);
          row.out_of_memory = run.out_of_memory;
          row.bytes_needed = run.bytes_needed;
          row.bytes_free = run.bytes_free;
          if (!run.gradients.ok) {
            row.error = run.gradients.error;
          } else {
            row.ok = true;
            row.kernel = run.kernel;
            row.forward = run.timing.forward;
            row.backward = run.timing.backward;
          }
        } catch (const std::bad_alloc&) {
          row.out_of_memory = true;
          row.error = "out of host memory while generating the inputs for " + spec.summary();
        } catch (const std::exception& e) {  // run_backward_cuda's refusals (std::invalid_argument) and CUDA errors
          row.error = e.what();
        }
      }
      rows.push_back(row);
      if (!row.ok) {
        ++failures;
        std::printf("%-8s %7lld  %s\n", algorithm_name(algorithm), static_cast<long long>(n), row.error.c_str());
        continue;
      }
      std::printf("%-8s %7lld %12.3f %12.3f %9.2f %12s %12s\n", algorithm_name(algorithm), static_cast<long long>(n),
                  row.forward.median_ms, row.backward.median_ms, row.backward.median_ms / row.forward.median_ms,
                  format_bytes_binary(static_cast<double>(row.memory.total())).c_str(),
                  format_bytes_binary(static_cast<double>(row.memory.saved)).c_str());
    }
  }
  if (!config.json_path.empty()) {
    // Temporary file renamed into place; a failed write says why and leaves no partial file.
    const FileWriteResult written =
        write_file_atomically(config.json_path, backward_bench_json(config, devices.front().name, rows));
    if (!written.ok) {
      std::cerr << "attnscope bench: " << written.error << "\n";
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
#endif
}

}  // namespace attnscope::app
