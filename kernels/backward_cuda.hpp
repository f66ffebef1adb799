// backward_cuda.hpp — attention's forward + backward pass on the GPU (issue 19): the host entry of the
// naive (kernels/backward_naive/) and FlashAttention-2 (kernels/backward_flash/) backward kernels.
//
// One call uploads Q, K, V and dO, runs the algorithm's forward pass (naive: S and P in device memory, P kept for
// the backward; flash: kernels/flash_fp32 with its lse output), then the backward pass, times both with CUDA events
// (warm-up, then repetitions) and returns dQ, dK, dV as core's BackwardResult, so they compare directly with the
// CPU twins of core/backward.hpp. Plain C++: no CUDA headers (the app and the tests include it).
//
// Out of memory is an answer: the whole device footprint is planned first (plan_backward_memory) and compared
// with what is free; an allocation that still fails (or that the fault-injection hook of kernels/fault_injection.hpp
// fails) comes back as ok = false, out_of_memory = true and an "out of device memory" message, with everything
// already allocated freed. Every device allocation goes through DeviceBuffer, so the hook sees each one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/backward.hpp"

namespace attnscope::kernels {

struct BackwardCudaOptions {
  int warmup = 0;        // untimed runs of each pass first
  int repetitions = 1;   // timed runs of each pass (1..10000); the gradients are those of the last
  bool want_forward_outputs = true;  // copy O and lse back (CudaBackwardRun::output, lse)
  // Where to run: a cudaStream_t and a cublasHandle_t (the backend's own, e.g.), both or neither. Neither: a stream
  // and a cuBLAS handle created for this call and destroyed when it returns (a few milliseconds per call).
  void* stream = nullptr;
  void* cublas = nullptr;
};

// Device bytes of one forward + backward run, by what holds them (for the training-memory view as well).
struct BackwardDevicePlan {
  uint64_t inputs_bytes = 0;     // Q, K, V, O and dO
  uint64_t gradients_bytes = 0;  // dQ, dK, dV
  uint64_t saved_bytes = 0;      // what the forward keeps for the backward: naive P; flash lse
  uint64_t workspace_bytes = 0;  // naive: S, overwritten by dP then dS; flash: D, the block mask; the mask grid
  uint64_t staging_bytes = 0;    // fp16/bf16: the transient fp32 buffer of uploads and downloads
  uint64_t total() const { return inputs_bytes + gradients_bytes + saved_bytes + workspace_bytes + staging_bytes; }
};
BackwardDevicePlan plan_backward_memory(Algorithm algorithm, const AttentionSpec& spec);

// Empty when run_backward_cuda can run this algorithm on this spec, else the reason in words (naive and flash only;
// naive stores fp32, fp16 or bf16 up to head dim 256; flash is fp32 up to head dim 128).
std::string backward_unsupported(Algorithm algorithm, const AttentionSpec& spec);

struct BackwardTimings {
  Timing forward;   // the forward pass that saves what the backward needs (naive: S, P, O; flash: O, lse)
  Timing backward;  // naive: the GEMMs and the dS kernel; flash: the D pre-pass, zeroing dQ and the main kernel
};

struct CudaBackwardRun {
  BackwardResult gradients;        // ok / error; dq, dk, dv; bytes_allocated = saved + workspace of the plan
  bool out_of_memory = false;
  uint64_t bytes_needed = 0, bytes_free = 0;  // the plan's total and the device's free memory before the run
  std::vector<float> output;       // the forward's O (Q's layout), when want_forward_outputs
  std::vector<float> lse;          // flash: the forward's lse per query row (−inf fully masked); naive: empty
  BackwardTimings timing;
  std::string kernel;              // what ran, in words
};

// `d_out`: dO in Q's layout. `algorithm`: Algorithm::Naive or Algorithm::Flash.
CudaBackwardRun run_backward_cuda(const AttentionInputs& in, const std::vector<float>& d_out, Algorithm algorithm,
                                  const BackwardCudaOptions& options = {});

}  // namespace attnscope::kernels
