// decode_bf16_d64.cu — the decode family's kernels for bf16 storage, head dim 64 (one instantiation file per
// configuration, so they compile in parallel; kernel.cuh holds the code).
#include "kernels/decode/kernel.cuh"

namespace attnscope::kernels::decode {
ATTNSCOPE_DECODE_INSTANTIATE(__nv_bfloat16, 64)
}  // namespace attnscope::kernels::decode
