// warpgroup.cuh — warp specialisation on Hopper (sm_90a): moving registers between warpgroups (setmaxnreg) and
// named barriers that let two warpgroups take turns (bar.sync / bar.arrive on an id other than 0, the id
// __syncthreads uses).
//
// setmaxnreg: every warp of a warpgroup executes the same instruction; a producer warpgroup that only issues
// copies gives registers back (dec) so the consumer warpgroups can grow (inc) beyond the kernel's launch-bound
// share. The counts are multiples of 8 in [24, 256].
//
// Turn taking between warpgroups A and B (ids a and b, 256 threads each): A waits on a (bar.sync a, 256) for B's
// arrival (bar.arrive a, 256) and the other way round; each completed barrier is one handover.
#pragma once
#include <cstdint>

namespace attnscope::kernels::warpgroup {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ATTNSCOPE_WARPGROUP_BODY(...) __VA_ARGS__
#else
#define ATTNSCOPE_WARPGROUP_BODY(...) __trap();
#endif

template <int Registers>
__device__ __forceinline__ void release_registers() {
  static_assert(Registers % 8 == 0 && Registers >= 24 && Registers <= 256, "setmaxnreg takes 24..256 in steps of 8");
  ATTNSCOPE_WARPGROUP_BODY(asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers));)
}
template <int Registers>
__device__ __forceinline__ void claim_registers() {
  static_assert(Registers % 8 == 0 && Registers >= 24 && Registers <= 256, "setmaxnreg takes 24..256 in steps of 8");
  ATTNSCOPE_WARPGROUP_BODY(asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers));)
}
// Waits until `threads` threads (a multiple of 32) have reached barrier `id` by sync or arrive.
__device__ __forceinline__ void barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
// Counts this warp's arrival at barrier `id` without waiting.
__device__ __forceinline__ void barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

#undef ATTNSCOPE_WARPGROUP_BODY

}  // namespace attnscope::kernels::warpgroup
