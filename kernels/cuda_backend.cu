// cuda_backend.cu — CudaBackend: device discovery. Kernels are added family by family.
#include "kernels/cuda_backend.hpp"

#include <cuda_runtime.h>

namespace attnscope::kernels {

std::unique_ptr<Backend> make_cuda_backend(std::string* why_not) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (why_not)
      *why_not = err != cudaSuccess ? std::string("no usable CUDA device: ") + cudaGetErrorString(err)
                                    : std::string("no CUDA device found");
    return nullptr;
  }
  if (why_not) *why_not = "the CUDA backend's kernels are not built yet";
  return nullptr;
}

}  // namespace attnscope::kernels
