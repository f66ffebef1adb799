// decode_f16_d64.cu — the decode family's kernels for f16 storage, head dim 64 (one instantiation file per
// configuration, so they compile in parallel; kernel.cuh holds the code).
#include "kernels/decode/kernel.cuh"

namespace attnscope::kernels::decode {
ATTNSCOPE_DECODE_INSTANTIATE(__half, 64)
}  // namespace attnscope::kernels::decode
