// bench_backward.cpp — see bench_backward.hpp.
#include "app/cli/bench_backward.hpp"

#include <cstdio>
#include <iostream>
#include <new>
#include <string>

#include "core/rng.hpp"
#if defined(ATTNSCOPE_WITH_CUDA)
#include "kernels/backward_cuda.hpp"
#include "kernels/device_info.hpp"
#endif

namespace attnscope::app {

int run_backward_bench(const BackwardBenchConfig& config) {
#if !defined(ATTNSCOPE_WITH_CUDA)
  (void)config;
  std::cerr << "attnscope bench --backward: this build has no CUDA backward kernels (no CUDA compiler was found at "
               "configure time)\n";
  return 1;
#else
  std::string why_not;
  const auto devices = kernels::list_cuda_devices(&why_not);
  if (devices.empty()) {
    std::cerr << "attnscope bench: backend 'cuda' is not available: " << why_not << "\n";
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
  int failures = 0;
  for (int64_t n : config.ns) {
    for (Algorithm algorithm : config.algorithms) {
      AttentionSpec spec = config.shape;
      spec.q_len = spec.kv_len = n;
      std::string error;
      kernels::CudaBackwardRun run;
      try {
        const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 4321 + static_cast<uint64_t>(n));
        std::vector<float> d_out(in.q.size());
        Rng rng(77 + static_cast<uint64_t>(n));
        for (float& g : d_out) g = static_cast<float>(rng.normal());
        kernels::BackwardCudaOptions options;
        options.warmup = config.warmup;
        options.repetitions = config.repetitions;
        options.want_forward_outputs = false;
        run = kernels::run_backward_cuda(in, d_out, algorithm, options);
        if (!run.gradients.ok) error = run.gradients.error;
      } catch (const std::bad_alloc&) {
        error = "out of host memory while generating the inputs for " + spec.summary();
      }
      if (!error.empty()) {
        ++failures;
        std::printf("%-8s %7lld  %s\n", algorithm_name(algorithm), static_cast<long long>(n), error.c_str());
        continue;
      }
      const auto plan = kernels::plan_backward_memory(algorithm, spec);
      std::printf("%-8s %7lld %12.3f %12.3f %9.2f %12s %12s\n", algorithm_name(algorithm), static_cast<long long>(n),
                  run.timing.forward.median_ms, run.timing.backward.median_ms,
                  run.timing.backward.median_ms / run.timing.forward.median_ms,
                  format_bytes_binary(static_cast<double>(plan.total())).c_str(),
                  format_bytes_binary(static_cast<double>(plan.saved_bytes)).c_str());
    }
  }
  return failures == 0 ? 0 : 1;
#endif
}

}  // namespace attnscope::app
