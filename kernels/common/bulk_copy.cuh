// bulk_copy.cuh — Hopper's copy engine (TMA) from CUDA C++: transaction barriers (mbarrier) in shared memory, plain
// bulk copies (cp.async.bulk: a contiguous run of bytes) and tensor copies (cp.async.bulk.tensor: a box of a tensor
// described by a CUtensorMap, optionally swizzled on the way into shared memory). sm_90 and newer; below that every
// helper traps, and the host never launches a kernel that uses them there (it checks the compute capability).
//
// Protocol: one thread initialises a barrier with the number of arrivals per phase (1 here) and fences the init;
// per phase, the issuing thread arrives with the bytes it expects (expect_tx) and starts copies that complete_tx
// those bytes on the barrier; the phase completes when the arrival and all bytes are in. Waiters poll the phase
// parity: phase k of a barrier has parity k & 1. Generic-proxy accesses to a buffer (ordinary loads and stores,
// ldmatrix) and the copy engine's writes into it are ordered by fence.proxy.async in the accessing threads plus a
// CTA barrier before the next copy is issued.
#pragma once
#include <cstdint>

namespace attnscope::kernels::bulk {

__device__ __forceinline__ uint32_t shared_address(const void* ptr) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(ptr));
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define ATTNSCOPE_BULK_COPY_BODY(...) __VA_ARGS__
#else
#define ATTNSCOPE_BULK_COPY_BODY(...) __trap();
#endif

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t arrivals) {
  ATTNSCOPE_BULK_COPY_BODY(
      asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(arrivals) : "memory");)
}
// After the initialising thread's mbarrier_init calls: the barriers are visible to the copy engine.
__device__ __forceinline__ void fence_mbarrier_init() {
  ATTNSCOPE_BULK_COPY_BODY(asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");)
}
// The calling thread's earlier generic-proxy accesses to shared memory are ordered before later async-proxy ones.
__device__ __forceinline__ void fence_proxy_async_shared() {
  ATTNSCOPE_BULK_COPY_BODY(asm volatile("fence.proxy.async.shared::cta;" ::: "memory");)
}
// One arrival that also expects `bytes` of copies to complete on this phase.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  ATTNSCOPE_BULK_COPY_BODY(asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(
                                            shared_address(bar)),
                                        "r"(bytes)
                                        : "memory");)
}
// Copies `bytes` (a multiple of 16, both addresses 16-byte aligned) from global to shared memory, completing on
// `bar` (the caller arrives with the expected bytes).
__device__ __forceinline__ void bulk_load(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  ATTNSCOPE_BULK_COPY_BODY(
      asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                       shared_address(dst)),
                   "l"(src), "r"(bytes), "r"(shared_address(bar))
                   : "memory");)
}
// Copies the box at element coordinates (x, y, z) of the 3-D tensor `map` (a CUtensorMap in parameter, constant or
// global memory) into shared memory at `dst` (aligned as the map's swizzle needs: 1024 bytes for 128-byte swizzle),
// completing on `bar`. Parts of the box outside the tensor are filled with zeros and still count as bytes.
__device__ __forceinline__ void tensor_load_3d(void* dst, const void* map, int x, int y, int z, uint64_t* bar) {
  ATTNSCOPE_BULK_COPY_BODY(
      asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, "
                   "%4}], [%5];" ::"r"(shared_address(dst)),
                   "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(shared_address(bar))
                   : "memory");)
}
// Spins until phase `parity` (0 or 1) of the barrier has completed.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  ATTNSCOPE_BULK_COPY_BODY(uint32_t done = 0; do {
    asm volatile(
        "{\n .reg .pred ready;\n mbarrier.try_wait.parity.shared::cta.b64 ready, [%1], %2;\n"
        " selp.u32 %0, 1, 0, ready;\n}\n"
        : "=r"(done)
        : "r"(shared_address(bar)), "r"(parity)
        : "memory");
  } while (!done);)
}

#undef ATTNSCOPE_BULK_COPY_BODY

}  // namespace attnscope::kernels::bulk
