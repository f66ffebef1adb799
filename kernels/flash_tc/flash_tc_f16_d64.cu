// flash_tc_f16_d64.cu — the tensor-core flash kernel for f16 storage and head_dim 64 (one specialization per file
// keeps each compile short; the body is flash_tc_kernel.cuh).
#include "kernels/flash_tc/flash_tc_kernel.cuh"

namespace attnscope::kernels::detail {
template void launch_flash_tc_typed<__half, 64>(const FlashTcParams& p, void* stream);
}  // namespace attnscope::kernels::detail
