// cuda_availability.hpp — why the CUDA backend cannot start, in words that say what to do. Plain C++ (no CUDA
// headers), so the mapping is unit-tested on machines without CUDA; kernels/device_info.cu passes it what the
// runtime reported and static_asserts that the error codes below are the runtime's.
#pragma once
#include <string>

namespace attnscope {

// The CUDA runtime's codes (cudaError_t) this mapping names; any other code is reported by its name.
inline constexpr int kCudaSuccess = 0;
inline constexpr int kCudaErrorInsufficientDriver = 35;  // the driver is older than the runtime this build needs
inline constexpr int kCudaErrorNoDevice = 100;           // a driver, but no CUDA-capable device

// What cudaGetDeviceCount and cudaDriverGetVersion / cudaRuntimeGetVersion said when no device is usable.
struct CudaProbe {
  int error_code = kCudaSuccess;  // cudaGetDeviceCount's result
  int device_count = 0;
  int driver_version = 0;   // 12080 = CUDA 12.8 (0: no driver loaded)
  int runtime_version = 0;  // the runtime this build links
  std::string error_name, error_text;  // cudaGetErrorName / cudaGetErrorString of error_code
};

// "12.8" from 12080.
std::string cuda_version_text(int version);

// The message for a probe that found no usable device: no driver, a driver older than the toolkit (which CUDA each
// supports, and to update the driver), no device, or another error by name; each ends with what still works (the
// CPU backend).
std::string cuda_unavailable_message(const CudaProbe& probe);

}  // namespace attnscope
