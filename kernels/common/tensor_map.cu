#include "kernels/common/tensor_map.hpp"

#include <cudaTypedefs.h>

#include <string>

#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* symbol = nullptr;
    cudaDriverEntryPointQueryResult found{};
    CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &symbol, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || !symbol)
      throw CudaError(cudaErrorNotSupported,
                      "the driver has no cuTensorMapEncodeTiled (the copy engine's tensor copies need a CUDA 12 "
                      "driver): update the NVIDIA driver");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(symbol);
  }();
  return fn;
}

}  // namespace

CUtensorMap make_tensor_map_3d_16bit(const void* base, const uint64_t dims[3], uint64_t row_stride_bytes,
                                     uint64_t plane_stride_bytes, uint32_t box_elements, uint32_t box_rows,
                                     bool swizzle_128b) {
  CUtensorMap map{};
  const cuuint64_t global_dims[3] = {dims[0], dims[1], dims[2]};
  const cuuint64_t global_strides[2] = {row_stride_bytes, plane_stride_bytes};  // dims 1 and 2, in bytes
  const cuuint32_t box[3] = {box_elements, box_rows, 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult result =
      encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 3, const_cast<void*>(base), global_dims, global_strides,
                     box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                     swizzle_128b ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_NONE,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS)
    throw CudaError(cudaErrorInvalidValue,
                    "cuTensorMapEncodeTiled refused a " + std::to_string(dims[0]) + " x " + std::to_string(dims[1]) +
                        " x " + std::to_string(dims[2]) + " tensor (box " + std::to_string(box_elements) + " x " +
                        std::to_string(box_rows) + ", CUresult " + std::to_string(static_cast<int>(result)) + ")");
  return map;
}

}  // namespace attnscope::kernels
