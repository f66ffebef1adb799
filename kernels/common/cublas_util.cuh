// cublas_util.cuh — what the cuBLAS callers (naive forward, naive backward) share: a failed status as a CudaError
// naming the call, and the cuBLAS data type of a storage dtype.
#pragma once
#include <cublas_v2.h>

#include <string>

#include "core/spec.hpp"
#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {

inline void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CudaError(cudaErrorUnknown, std::string(what) + " failed: " + cublasGetStatusName(status) + " (" +
                                        cublasGetStatusString(status) + ")");
}

inline cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

}  // namespace attnscope::kernels
