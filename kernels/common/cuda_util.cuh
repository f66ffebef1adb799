// cuda_util.cuh — the kernels layer's shared CUDA plumbing: checked calls, an owning device buffer,
// storage types (fp32/fp16/bf16) with their float conversions, and device clock/SM readers.
// Internal to kernels/: the public headers (*.hpp) never include CUDA headers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <algorithm>
#include <vector>

#include "core/block_mask.hpp"
#include "core/mask.hpp"
#include "core/spec.hpp"
#include "kernels/fault_injection.hpp"

namespace attnscope::kernels {

// A failed CUDA call inside the layer. CudaBackend turns it into RunResult::error; it never escapes to the app.
class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

inline void check_cuda(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return;
  throw CudaError(err, std::string(call) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                           ") at " + file + ":" + std::to_string(line));
}
#define CUDA_CHECK(call) ::attnscope::kernels::check_cuda((call), #call, __FILE__, __LINE__)
// After a launch: configuration errors surface from cudaGetLastError, faults at the next synchronisation.
#define CUDA_CHECK_LAUNCH(name) ::attnscope::kernels::check_cuda(cudaGetLastError(), name, __FILE__, __LINE__)

// An owning device allocation. bytes() is what the algorithm allocated, for RunResult::bytes_allocated.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { allocate(bytes); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) { release(); ptr_ = o.ptr_; bytes_ = o.bytes_; o.ptr_ = nullptr; o.bytes_ = 0; }
    return *this;
  }
  void allocate(size_t bytes) {
    release();
    if (bytes == 0) return;
    if (device_allocation_fails_now())  // the test hook of fault_injection.hpp: fail as an exhausted device does
      throw CudaError(cudaErrorMemoryAllocation, "cudaMalloc(" + std::to_string(bytes) +
                                                     " bytes) failed: cudaErrorMemoryAllocation (out of memory; "
                                                     "injected by the fault-injection test hook)");
    CUDA_CHECK(cudaMalloc(&ptr_, bytes));
    bytes_ = bytes;
  }
  void release() {
    if (ptr_) cudaFree(ptr_);  // freeing cannot fail usefully here; a fault shows at the next checked call
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <class T = void>
  T* get() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Storage element <-> float. All arithmetic happens in fp32; only storage changes with the dtype.
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Nanoseconds of the GPU's global timer, comparable across SMs; and the SM this thread runs on.
__device__ __forceinline__ uint64_t global_timer_ns() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ uint32_t sm_id() {
  uint32_t id;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(id));
  return id;
}

// Calls f with a value of the storage type the dtype names (float, __half or __nv_bfloat16).
template <class F>
void dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32: f(float{}); return;
    case DType::F16: f(__half{}); return;
    case DType::BF16: f(__nv_bfloat16{}); return;
  }
}

// Host float32 -> device storage of `dtype` (converted on the device, so the host copies 4 bytes/element once).
void upload_as(DType dtype, const float* host, size_t count, DeviceBuffer& out, cudaStream_t stream);
// Device storage of `dtype` -> host float32.
void download_as_float(DType dtype, const void* device, size_t count, float* host, cudaStream_t stream);

// The spec's shape and softmax scale into a kernel's parameters (NaiveParams, FlashParams and FlashTcParams share
// these field names).
template <class Params>
void set_shape(Params& p, const AttentionSpec& spec) {
  p.batch = spec.batch;
  p.q_heads = spec.q_heads;
  p.kv_heads = spec.kv_heads;
  p.q_len = spec.q_len;
  p.kv_len = spec.kv_len;
  p.head_dim = spec.head_dim;
  p.scale = static_cast<float>(spec.softmax_scale());
}

// Two CUDA events, destroyed on every way out of their scope (a CUDA_CHECK throw included).
struct EventPair {
  cudaEvent_t start{}, stop{};
  EventPair() {
    CUDA_CHECK(cudaEventCreate(&start));
    if (const cudaError_t err = cudaEventCreate(&stop); err != cudaSuccess) {
      cudaEventDestroy(start);
      check_cuda(err, "cudaEventCreate(&stop)", __FILE__, __LINE__);
    }
  }
  ~EventPair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  // Milliseconds from start to stop; both recorded and stop completed.
  float elapsed_ms() const {
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms;
  }
};

// CUDA-event timing of repetitions after warm-up (device time, not host time).
class EventTimer {
 public:
  // Runs `launch` warmup times untimed, then repetitions times each between two events; returns ms per rep.
  template <class F>
  std::vector<double> time(cudaStream_t stream, int warmup, int repetitions, F&& launch) {
    for (int i = 0; i < warmup; ++i) launch();
    CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<double> samples;
    for (int i = 0; i < std::max(1, repetitions); ++i) {
      CUDA_CHECK(cudaEventRecord(events_.start, stream));
      launch();
      CUDA_CHECK(cudaEventRecord(events_.stop, stream));
      CUDA_CHECK(cudaEventSynchronize(events_.stop));
      samples.push_back(events_.elapsed_ms());
    }
    return samples;
  }

 private:
  EventPair events_;
};

// The mask with its painted grid copied to the device (MaskView::allowed reads grid_cells where it runs).
struct DeviceMask {
  MaskView view;
  DeviceBuffer grid;
  DeviceMask(const MaskSpec& spec, cudaStream_t stream) {
    view = spec.view();
    if (!spec.grid.cells.empty()) {
      grid.allocate(spec.grid.cells.size());
      CUDA_CHECK(cudaMemcpyAsync(grid.get(), spec.grid.cells.data(), spec.grid.cells.size(), cudaMemcpyHostToDevice,
                                 stream));
      view.grid_cells = grid.get<uint8_t>();
    } else {
      view.grid_cells = nullptr;
    }
  }
};

// core's block mask (build_block_mask: exact, classified from each term's structure) for br x bc tiles, as one
// TileKind byte per (Q tile, K/V tile) on the device; `visited` counts the non-empty tiles.
struct DeviceTileKinds {
  DeviceBuffer kinds;
  int64_t visited = 0;
  DeviceTileKinds(const AttentionSpec& spec, int br, int bc, cudaStream_t stream) {
    const BlockMask mask = build_block_mask(spec, br, bc, /*count_pairs=*/false);
    visited = mask.stats.partial + mask.stats.full;
    static_assert(sizeof(TileKind) == 1, "one byte per tile on the device");
    kinds.allocate(mask.kinds.size());
    CUDA_CHECK(cudaMemcpyAsync(kinds.get(), mask.kinds.data(), mask.kinds.size(), cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));  // the host vector dies on return
  }
};

}  // namespace attnscope::kernels
