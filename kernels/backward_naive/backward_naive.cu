// backward_naive.cu — the unfused backward pass: four cuBLAS GEMMs and one row kernel (see backward_naive.hpp).
//
// Layout trick (as in naive/naive_attention.cu): cuBLAS is column-major, our matrices row-major, and a row-major
// X (r × c) is the column-major Xᵀ (c × r) with leading dimension c. Each product C = A·B below is therefore asked of
// cuBLAS as Cᵀ = Bᵀ·Aᵀ, with the transposes chosen so the stored buffers are read as they lie. Per batch entry
// (one batch, one KV head) the group's rows are G = g·q_len: Q, dO, dQ are G × d, P and dS are G × kv_len, K, V,
// dK, dV are kv_len × d.
#include <cublas_v2.h>

#include <climits>
#include <cmath>

#include "kernels/backward_naive/backward_naive.hpp"
#include "kernels/common/cublas_util.cuh"
#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kRowThreads = 256;

// dS = P ∘ (dP − D) for one score row per CTA, in place over dP, with D = Σ_x dO_x · O_x of the same row
// (the softmax's Jacobian: dS_j = P_j (dP_j − Σ_k P_k dP_k), and Σ_k P_k dP_k = Σ_x dO_x O_x because O = P V and
// dP = dO Vᵀ). A masked pair, and every pair of a fully masked row, has P = 0 and gets dS = 0, written explicitly
// so that no value of dP can leak through.
// Storage T (float, __half, __nv_bfloat16); arithmetic in float.
template <class T>
__global__ void __launch_bounds__(kRowThreads) softmax_backward_rows(const T* __restrict__ p, T* ds,
                                                                       const T* __restrict__ o,
                                                                       const T* __restrict__ d_out,
                                                                       int64_t kv_len, int64_t head_dim) {
  __shared__ float partial[kRowThreads / 32];
  const int64_t row = blockIdx.x;
  float sum = 0.f;
  for (int64_t x = threadIdx.x; x < head_dim; x += kRowThreads)
    sum += to_float(d_out[row * head_dim + x]) * to_float(o[row * head_dim + x]);
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  // Barrier: every warp's partial sum is in shared memory before thread 0..all read them.
  __syncthreads();
  float D = 0.f;
#pragma unroll
  for (int w = 0; w < kRowThreads / 32; ++w) D += partial[w];
  const T* p_row = p + row * kv_len;
  T* ds_row = ds + row * kv_len;
  for (int64_t j = threadIdx.x; j < kv_len; j += kRowThreads) {
    const float pj = to_float(p_row[j]);
    ds_row[j] = from_float<T>(pj == 0.f ? 0.f : pj * (to_float(ds_row[j]) - D));
  }
}

// One strided-batched GEMM, every matrix stored as `type`, computed in fp32 (compute 32F: no TF32), column-major as
// cuBLAS sees it: C (m × n) = alpha · op(A) · op(B), batch entries `stride_*` elements apart.
struct Gemm {
  cublasHandle_t handle;
  cudaDataType_t type;
  int batches;
  void operator()(const char* what, cublasOperation_t op_a, cublasOperation_t op_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb,
                  int64_t stride_b, void* c, int64_t ldc, int64_t stride_c) const {
    const float beta = 0.f;
    check_cublas(cublasGemmStridedBatchedEx(handle, op_a, op_b, static_cast<int>(m), static_cast<int>(n),
                                            static_cast<int>(k), &alpha, a, type, static_cast<int>(lda), stride_a, b,
                                            type, static_cast<int>(ldb), stride_b, &beta, c, type,
                                            static_cast<int>(ldc), stride_c, batches, CUBLAS_COMPUTE_32F,
                                            CUBLAS_GEMM_DEFAULT),
                 what);
  }
};

}  // namespace

uint64_t naive_backward_workspace_bytes(const AttentionSpec& spec) {
  return 2ull * static_cast<uint64_t>(spec.batch * spec.q_heads) * static_cast<uint64_t>(spec.q_len) *
         static_cast<uint64_t>(spec.kv_len) * static_cast<uint64_t>(dtype_bytes(spec.dtype));
}

std::string validate(const NaiveBackwardParams& p) {
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1 || p.head_dim < 1)
    return "naive backward: every size must be >= 1";
  if (p.q_heads % p.kv_heads != 0)
    return "naive backward: query heads " + std::to_string(p.q_heads) + " is not a multiple of KV heads " +
           std::to_string(p.kv_heads);
  if (p.q_len > p.kv_len) return "naive backward: query length exceeds key length";
  if (p.head_dim > 256) return "naive backward: head dim " + std::to_string(p.head_dim) + " exceeds 256";
  const int64_t group_rows = p.q_heads / p.kv_heads * p.q_len;
  if (group_rows > INT_MAX || p.kv_len > INT_MAX)
    return "naive backward: a GEMM dimension exceeds cuBLAS's 32-bit limit";
  if (p.batch * p.kv_heads > INT_MAX) return "naive backward: too many (batch, KV head) pairs for one GEMM";
  if (p.batch * p.q_heads * p.q_len > INT_MAX) return "naive backward: too many score rows for one launch";
  if (!p.q || !p.k || !p.v || !p.o || !p.d_out || !p.p || !p.ds || !p.dq || !p.dk || !p.dv)
    return "naive backward: a device buffer is missing";
  if (!p.cublas) return "naive backward: no cuBLAS handle";
  if (!std::isfinite(p.scale) || p.scale <= 0) return "naive backward: the softmax scale must be positive";
  return {};
}

void launch_naive_backward(const NaiveBackwardParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  auto s = static_cast<cudaStream_t>(stream);
  auto handle = static_cast<cublasHandle_t>(p.cublas);
  check_cublas(cublasSetStream(handle, s), "cublasSetStream");
  const Gemm gemm{handle, cuda_type(p.dtype), static_cast<int>(p.batch * p.kv_heads)};
  const int64_t d = p.head_dim, nk = p.kv_len, rows = p.q_heads / p.kv_heads * p.q_len;  // rows = G
  const int64_t q_stride = rows * d, kv_stride = nk * d, s_stride = rows * nk;

  // 1. dV = Pᵀ dO (nk × d), summed over the G rows of the group. Column-major: dVᵀ (d × nk) = dOᵀ (d × G) · P (G × nk);
  //    dO as stored is dOᵀ (N), P as stored is Pᵀ (nk × G, ld nk), so op T reads P.
  gemm("cublasGemmStridedBatchedEx (dV = P^T dO)", CUBLAS_OP_N, CUBLAS_OP_T, d, nk, rows, 1.f,  //
       p.d_out, d, q_stride, p.p, nk, s_stride, p.dv, d, kv_stride);
  // 2. dP = dO Vᵀ (G × nk). Column-major: dPᵀ (nk × G) = V (nk × d) · dOᵀ (d × G); V as stored is Vᵀ (d × nk), op T.
  gemm("cublasGemmStridedBatchedEx (dP = dO V^T)", CUBLAS_OP_T, CUBLAS_OP_N, nk, rows, d, 1.f,  //
       p.v, d, kv_stride, p.d_out, d, q_stride, p.ds, nk, s_stride);
  // 3. dS = P ∘ (dP − D), one CTA per score row.
  const int64_t score_rows = p.batch * p.q_heads * p.q_len;
  dispatch_dtype(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_rows<T><<<static_cast<unsigned>(score_rows), kRowThreads, 0, s>>>(
        static_cast<const T*>(p.p), static_cast<T*>(p.ds), static_cast<const T*>(p.o), static_cast<const T*>(p.d_out),
        nk, d);
  });
  CUDA_CHECK_LAUNCH("softmax_backward_rows");
  // 4. dQ = scale · dS K (G × d). Column-major: dQᵀ (d × G) = Kᵀ (d × nk) · dSᵀ (nk × G); both as stored (N, N).
  gemm("cublasGemmStridedBatchedEx (dQ = scale dS K)", CUBLAS_OP_N, CUBLAS_OP_N, d, rows, nk, p.scale,  //
       p.k, d, kv_stride, p.ds, nk, s_stride, p.dq, d, q_stride);
  // 5. dK = scale · dSᵀ Q (nk × d), summed over the group. Column-major: dKᵀ (d × nk) = Qᵀ (d × G) · dS (G × nk);
  //    Q as stored (N), dS as stored is dSᵀ, op T.
  gemm("cublasGemmStridedBatchedEx (dK = scale dS^T Q)", CUBLAS_OP_N, CUBLAS_OP_T, d, nk, rows, p.scale,  //
       p.q, d, q_stride, p.ds, nk, s_stride, p.dk, d, kv_stride);
}

}  // namespace attnscope::kernels
