// flash_tc_ws_bf16_d128.cu — the warp-specialised Hopper flash-tc kernel for bf16 and head_dim 128; built only for
// sm_90a (kernels/CMakeLists.txt), body in flash_tc_ws.cuh.
#include "kernels/flash_tc/sm90a/flash_tc_ws.cuh"

namespace attnscope::kernels::detail {
template void launch_flash_tc_ws_typed<__nv_bfloat16, 128>(const FlashTcParams& p, bool ping_pong, void* stream);
}  // namespace attnscope::kernels::detail
