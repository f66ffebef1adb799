// fault_injection.hpp — a test hook that makes the CUDA layer's k-th device allocation fail exactly as cudaMalloc
// does when the device is out of memory (CudaError with cudaErrorMemoryAllocation), so tests reach every
// allocation's failure path without filling a real GPU. Plain C++: tests include it without CUDA headers.
// Process-wide and thread-safe; disarmed unless a test arms it.
#pragma once
#include <cstdint>

namespace attnscope::kernels {

// Arms the hook: counting from zero again, the k-th device allocation from now fails (k = 1: the next one), once;
// k = 0 disarms it (allocations are still counted).
void fail_device_allocation_at(int64_t k);
// Device allocations made (or failed by the hook) since the last fail_device_allocation_at call.
int64_t device_allocations_counted();
// Called by every device allocation before cudaMalloc: counts it, and says whether the hook fails this one.
bool device_allocation_fails_now();

}  // namespace attnscope::kernels
