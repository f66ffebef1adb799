// tensor_map.hpp — CUtensorMap descriptors for the copy engine's tensor copies (kernels/common/bulk_copy.cuh), encoded on
// the host through the driver's cuTensorMapEncodeTiled (looked up through the runtime, so nothing links libcuda).
#pragma once
#include <cuda.h>

#include <cstdint>

namespace attnscope::kernels {

// A 3-D tensor of 16-bit elements (fp16 or bf16: the copy moves bits) at `base`: dims[0] elements per row
// (contiguous), dims[1] rows `row_stride_bytes` apart, dims[2] planes `plane_stride_bytes` apart (both multiples of
// 16, base 16-byte aligned). Copies move boxes of box_elements × box_rows × 1; with `swizzle_128b` (box_elements · 2
// must be 128) the 16-byte chunk c of box row r lands at chunk c ^ (r mod 8) of its 128-byte row in shared memory, so
// ldmatrix reads of eight rows at one chunk are conflict-free. Parts of a box outside the tensor read as zeros.
// Throws CudaError naming the problem (no driver entry point, or parameters the driver refuses).
CUtensorMap make_tensor_map_3d_16bit(const void* base, const uint64_t dims[3], uint64_t row_stride_bytes,
                                     uint64_t plane_stride_bytes, uint32_t box_elements, uint32_t box_rows,
                                     bool swizzle_128b);

}  // namespace attnscope::kernels
