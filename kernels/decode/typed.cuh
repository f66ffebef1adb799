// typed.cuh — the per-(storage type, head dim) entry points of the decode family, declared here and instantiated
// once each by decode_<dtype>_d<D>.cu (kernel.cuh holds their definitions), so plan.cu and launch.cu compile no
// kernel. Internal to kernels/decode/.
#pragma once
#include <cuda_runtime.h>

#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {

// The decode kernel's compile-time configuration beyond (T, D). The plan asks for one of:
//   m_tiles 1      4 warps, kDecodeStages, static ranges, cp.async
//   m_tiles 2, 4   8 warps, kDecodeDeepStages (cp.async) or kDecodeTmaStages (tma), with or without the pool's claims
// each contiguous or paged, plain or instrumented.
struct KernelConfig {
  int m_tiles = 1, warps = 4, stages = kDecodeStages;
  bool dynamic = false, paged = false, tma = false, instr = false;
};

// Sets the kernel's dynamic shared memory limit to `shared_bytes` and returns how many CTAs fit on one SM.
template <class T, int D>
int decode_ctas_per_sm(const KernelConfig& config, int shared_bytes);
// Launches the decode kernel of `config` (and the reduction when the splits are not merged in the grid).
template <class T, int D>
void launch_decode_typed(const DecodeParams& p, const DecodeLaunchPlan& plan, const DecodeArgs& args,
                         const KernelConfig& config, cudaStream_t stream);

#define ATTNSCOPE_DECODE_EXTERN(T, D)                                                                     \
  extern template int decode_ctas_per_sm<T, D>(const KernelConfig&, int);                                 \
  extern template void launch_decode_typed<T, D>(const DecodeParams&, const DecodeLaunchPlan&, const DecodeArgs&, \
                                                  const KernelConfig&, cudaStream_t);
ATTNSCOPE_DECODE_EXTERN(__half, 64)
ATTNSCOPE_DECODE_EXTERN(__half, 128)
ATTNSCOPE_DECODE_EXTERN(__nv_bfloat16, 64)
ATTNSCOPE_DECODE_EXTERN(__nv_bfloat16, 128)
#undef ATTNSCOPE_DECODE_EXTERN

// The plan's kernel configuration (instr: the instrumented kernel).
KernelConfig kernel_config(const DecodeParams& p, const DecodeLaunchPlan& plan, bool instr);

}  // namespace attnscope::kernels::decode
