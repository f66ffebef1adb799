// cuda_availability.cpp — see cuda_availability.hpp.
#include "core/cuda_availability.hpp"

namespace attnscope {

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string cuda_unavailable_message(const CudaProbe& probe) {
  if (probe.error_code == kCudaErrorInsufficientDriver)
    return "the NVIDIA driver is older than this build's CUDA toolkit (the driver supports CUDA " +
           (probe.driver_version > 0 ? cuda_version_text(probe.driver_version) : std::string("less")) +
           ", this build needs CUDA " + cuda_version_text(probe.runtime_version) +
           "): update the NVIDIA driver, or use the CPU backend (--backend cpu)";
  if (probe.driver_version == 0)
    return "no NVIDIA driver is loaded: install the NVIDIA driver for a GPU, or use the CPU backend (--backend cpu)";
  if (probe.error_code == kCudaErrorNoDevice || (probe.error_code == kCudaSuccess && probe.device_count == 0))
    return "no CUDA device found (the NVIDIA driver " + cuda_version_text(probe.driver_version) +
           " is loaded but sees no GPU: check that the GPU is visible to this process, e.g. CUDA_VISIBLE_DEVICES); "
           "the CPU backend stays available (--backend cpu)";
  return "no usable CUDA device: " + (probe.error_name.empty() ? "error " + std::to_string(probe.error_code)
                                                                : probe.error_name) +
         (probe.error_text.empty() ? "" : " (" + probe.error_text + ")") +
         "; the CPU backend stays available (--backend cpu)";
}

}  // namespace attnscope
