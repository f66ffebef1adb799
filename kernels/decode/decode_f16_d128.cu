// decode_f16_d128.cu — the decode family's kernels for f16 storage, head dim 128 (one instantiation file per
// configuration, so they compile in parallel; kernel.cuh holds the code).
#include "kernels/decode/kernel.cuh"

namespace attnscope::kernels::decode {
ATTNSCOPE_DECODE_INSTANTIATE(__half, 128)
}  // namespace attnscope::kernels::decode
