// cuda_backend.hpp — core::Backend on an NVIDIA GPU: naive (cuBLAS + masked softmax) and flash fp32 kernels,
// CUDA-event timing, memory accounting with out-of-memory as an answer, traces from instrumented launches, and
// the GPU score pooling for the heatmap. Returns nullptr with a reason when no usable device exists (none
// present, driver too old, CUDA error), so the app falls back to the CPU.
#pragma once
#include <memory>
#include <string>

#include "core/backend.hpp"
#include "kernels/device_info.hpp"
#include "kernels/naive/naive_attention.hpp"

namespace attnscope::kernels {

// Explicit choices beyond a request, for tests and experiments (the defaults are what the app runs).
struct CudaBackendOptions {
  SoftmaxVariant naive_softmax = SoftmaxVariant::Auto;  // NaiveParams::softmax of every naive run
  int64_t pipelined_grid_limit = 0;                     // NaiveParams::pipelined_grid_limit
};

std::unique_ptr<Backend> make_cuda_backend(std::string* why_not, const CudaBackendOptions& options = {});

// The device a CUDA backend runs on (for the status bar); nullptr when `backend` is not a CUDA backend.
const DeviceInfo* cuda_device_of(const Backend& backend);

// What an algorithm would allocate on the device for this spec, before anything is allocated:
// inputs and output in the spec's dtype, the algorithm's own workspace (naive: S and P), and a transient fp32
// staging buffer for uploads. Lets the app show the out-of-memory answer without building inputs.
struct DevicePlan {
  uint64_t inputs_bytes = 0;      // Q, K, V and O in the dtype
  uint64_t workspace_bytes = 0;   // naive: S + P; flash: block mask (+ trace buffers when tracing)
  uint64_t staging_bytes = 0;     // fp32 upload/download staging (freed after the copy)
  uint64_t total() const { return inputs_bytes + workspace_bytes + staging_bytes; }
};
DevicePlan plan_device_memory(Algorithm algorithm, const AttentionSpec& spec, bool record_trace, int probe_count);

// "naive attention at B=1 H=32/32 N=65536 ... needs 512 GiB (S and P: 256 GiB each ...) but 79.1 GiB is free on
// NVIDIA H100 ...: use flash, or fewer heads / a shorter N." Empty when it fits in `free_bytes`.
std::string out_of_memory_message(Algorithm algorithm, const AttentionSpec& spec, const DevicePlan& plan,
                                  uint64_t free_bytes, const std::string& device_name);

}  // namespace attnscope::kernels
