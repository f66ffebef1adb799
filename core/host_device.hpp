// host_device.hpp — lets small core functions be compiled for both CPU and GPU.
// core/ never includes CUDA headers; when nvcc compiles a core header it sees __CUDACC__ and
// marks the function for both sides, so the CPU twin and the kernel share one definition.
#pragma once

#if defined(__CUDACC__)
#define ATTN_HD __host__ __device__ __forceinline__
#else
#define ATTN_HD inline
#endif
