// flash_tc_bf16_d128.cu — the tensor-core flash kernel for bf16 storage and head_dim 128 (one specialization per file
// keeps each compile short; the body is flash_tc_kernel.cuh).
#include "kernels/flash_tc/flash_tc_kernel.cuh"

namespace attnscope::kernels::detail {
template void launch_flash_tc_typed<__nv_bfloat16, 128>(const FlashTcParams& p, void* stream);
}  // namespace attnscope::kernels::detail
