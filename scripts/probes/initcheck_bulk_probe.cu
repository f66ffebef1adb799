// initcheck_bulk_probe.cu — a question for compute-sanitizer, not part of the build: does initcheck report
// cp.async.bulk reads of memory that a kernel wrote (ours: A; cuBLAS: C) while plain loads of cuBLAS-written memory
// pass (B)? gpu-check's initcheck reports every bulk read of S in the pipelined naive softmax (S written by cuBLAS),
// with outputs that match the reference. A, B and C use a 64 x 64 fp32 GEMM; D, E and F the fp16 GEMM of the
// test shape that reports (S of 128 rows x 16448 keys: cuBLAS may pick a different kernel, storing differently):
// D bulk read, E plain read, F bulk read after the strided-batched call the naive path makes.
// On the GPU machine, from the repository root:
//   nvcc -std=c++17 -arch=sm_90a -I. scripts/probes/initcheck_bulk_probe.cu -lcublas -o /tmp/probe
//   for w in A B C D E F; do compute-sanitizer --tool initcheck /tmp/probe $w | grep -E "SUMMARY|^[A-F]:"; done
#include <cstdio>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include "kernels/common/bulk_copy.cuh"
using namespace attnscope::kernels;
__global__ void write_plain(float* p, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = i * 0.5f; }
__global__ void read_bulk(const float* src, float* out) {
  __shared__ __align__(128) float buf[1024];
  __shared__ __align__(8) uint64_t bar;
  if (threadIdx.x == 0) { bulk::mbarrier_init(&bar, 1); bulk::fence_mbarrier_init(); }
  __syncthreads();
  if (threadIdx.x == 0) { bulk::mbarrier_arrive_expect_tx(&bar, 4096); bulk::bulk_load(buf, src + blockIdx.x * 1024, 4096, &bar); }
  bulk::mbarrier_wait(&bar, 0);
  float s = 0; for (int i = threadIdx.x; i < 1024; i += blockDim.x) s += buf[i];
  atomicAdd(out, s);
}
__global__ void fill_ones(__half* p, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = __float2half(1.f); }
__global__ void read_plain(const float* src, float* out) {
  float s = 0; for (int i = threadIdx.x; i < 1024; i += blockDim.x) s += src[blockIdx.x * 1024 + i];
  atomicAdd(out, s);
}
int main(int argc, char** argv) {
  const int n = 64 * 64;  // 4 blocks of 1024
  float *a, *c, *x, *out; cudaMalloc(&a, n * 4); cudaMalloc(&c, n * 4); cudaMalloc(&x, n * 4); cudaMalloc(&out, 4);
  cudaMemset(out, 0, 4); cudaMemset(x, 0, n * 4);
  write_plain<<<n / 256, 256>>>(a, n);
  cublasHandle_t h; cublasCreate(&h); float one = 1, zero = 0;
  cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 64, 64, 64, &one, x, 64, x, 64, &zero, c, 64);  // c written by cuBLAS
  const int keys = 16448, rows = 128, dim = 32;
  __half *kq, *s16;
  cudaMalloc(&kq, size_t(keys) * dim * 2); cudaMalloc(&s16, size_t(keys) * rows * 2);
  fill_ones<<<(keys * dim + 255) / 256, 256>>>(kq, keys * dim);
  const char* which = argc > 1 ? argv[1] : "";
  cublasStatus_t status = CUBLAS_STATUS_SUCCESS;
  if (which[0] == 'D' || which[0] == 'E')  // row-major S (rows x keys) = Q Kᵀ as column-major Sᵀ = K Qᵀ
    status = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, keys, rows, dim, &one, kq, CUDA_R_16F, dim, kq, CUDA_R_16F, dim,
                 &zero, s16, CUDA_R_16F, keys, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (which[0] == 'F')
    status = cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, keys, rows / 2, dim, &one, kq, CUDA_R_16F, dim, 0, kq,
                               CUDA_R_16F, dim, 0, &zero, s16, CUDA_R_16F, keys, size_t(keys) * rows / 2, 2,
                               CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  cudaDeviceSynchronize();
  __half first;  // every S element is dim = 32 when cuBLAS wrote it
  cudaMemcpy(&first, s16, 2, cudaMemcpyDeviceToHost);
  printf("%s: cuBLAS status %d, S[0] = %g\n", which, int(status), __half2float(first));
  const float* s32 = reinterpret_cast<const float*>(s16);
  if (which[0] == 'D' || which[0] == 'F') read_bulk<<<4, 128>>>(s32, out);  // cuBLAS fp16, bulk read
  if (which[0] == 'E') read_plain<<<4, 128>>>(s32, out);                     // cuBLAS fp16, plain read
  if (which[0] == 'A') read_bulk<<<4, 128>>>(a, out);   // kernel-written, bulk read
  if (which[0] == 'B') read_plain<<<4, 128>>>(c, out);  // cuBLAS-written, plain read
  if (which[0] == 'C') read_bulk<<<4, 128>>>(c, out);   // cuBLAS-written, bulk read
  cudaDeviceSynchronize();
  printf("%s: %s\n", which, cudaGetErrorString(cudaGetLastError()));
  return 0;
}
