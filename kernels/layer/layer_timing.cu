// layer_timing.cu — see layer_timing.hpp.
#include "kernels/layer/layer_timing.hpp"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>

#include "core/beyond_runs.hpp"
#include "kernels/common/cublas_util.cuh"
#include "kernels/common/cuda_util.cuh"
#include "kernels/common/random_fill.cuh"

namespace attnscope::kernels {
namespace {

// gated: up = silu(up) ∘ gate = up·gate / (1 + e^(−up)); else up = gelu(up) ≈ up·σ(1.702·up) (the CPU twin's forms).
template <class T>
__global__ void activate(T* up, const T* gate, int64_t count, bool gated) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const float u = to_float(up[i]);
    up[i] = from_float<T>(gated ? u * to_float(gate[i]) / (1.f + __expf(-u)) : u / (1.f + __expf(-1.702f * u)));
  }
}

}  // namespace

LayerGemmTimings time_layer_gemms_cuda(const LayerTimingRequest& q, void* stream_ptr, void* cublas_ptr) {
  LayerGemmTimings r;
  if (q.batch < 1 || q.tokens < 1 || q.d_model < 1 || q.heads < 1 || q.kv_heads < 1 || q.head_dim < 1 ||
      q.mlp_hidden < 1 || q.heads % q.kv_heads != 0) {
    r.error = "a block needs positive sizes and query heads a multiple of KV heads";
    return r;
  }
  const int64_t bn = q.batch * q.tokens, qkv_cols = (q.heads + 2 * q.kv_heads) * q.head_dim,
                hd = q.heads * q.head_dim, ffn = q.mlp_hidden;
  for (int64_t dim : {bn, qkv_cols, hd, ffn, q.d_model})
    if (dim > INT32_MAX) {
      r.error = "a GEMM dimension of the block (" + std::to_string(dim) + ") exceeds cuBLAS's 32-bit limit";
      return r;
    }
  const auto stream = static_cast<cudaStream_t>(stream_ptr);
  const auto handle = static_cast<cublasHandle_t>(cublas_ptr);
  const std::vector<double> flops = layer_part_flops(q);
  const size_t e = static_cast<size_t>(dtype_bytes(q.dtype));
  const cudaDataType_t type = cuda_type(q.dtype);
  auto dims = [&](int64_t m, int64_t k, int64_t n) {
    return std::to_string(m) + "×" + std::to_string(k) + " · " + std::to_string(k) + "×" + std::to_string(n);
  };
  const std::string gemm = std::string("cuBLAS GEMM (") + dtype_name(q.dtype) + ", fp32 accumulation) ";
  try {
    check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    DeviceBuffer x(bn * q.d_model * e), w_qkv(q.d_model * qkv_cols * e), qkv(bn * qkv_cols * e),
        attn(bn * hd * e), w_o(hd * q.d_model * e), proj(bn * q.d_model * e), w1(q.d_model * ffn * e),
        w3(q.gated_mlp ? q.d_model * ffn * e : 0), w2(ffn * q.d_model * e), up(bn * ffn * e),
        gate(q.gated_mlp ? bn * ffn * e : 0), down(bn * q.d_model * e);
    r.weight_bytes = w_qkv.bytes() + w_o.bytes() + w1.bytes() + w3.bytes() + w2.bytes();
    r.activation_bytes = x.bytes() + qkv.bytes() + attn.bytes() + proj.bytes() + up.bytes() + gate.bytes() + down.bytes();
    const float sm = 1.f / std::sqrt(static_cast<float>(q.d_model)), sf = 1.f / std::sqrt(static_cast<float>(ffn));
    // Row-major Y[M×N] = X[M×K]·W[K×N] is column-major Yᵀ = Wᵀ·Xᵀ: cuBLAS's (m, n, k) = (N, M, K).
    auto gemm_rows = [&](const DeviceBuffer& a, const DeviceBuffer& w, DeviceBuffer& y, int64_t m, int64_t k,
                         int64_t n, const char* what) {
      const float one = 1.f, zero = 0.f;
      check_cublas(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                static_cast<int>(k), &one, w.get(), type, static_cast<int>(n), a.get(), type,
                                static_cast<int>(k), &zero, y.get(), type, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
                   what);
    };
    dispatch_dtype(q.dtype, [&](auto tag) {
      using T = decltype(tag);
      auto fill = [&](DeviceBuffer& buffer, uint64_t stream_id, float bound) {
        const int64_t count = static_cast<int64_t>(buffer.bytes() / e);
        if (count == 0) return;
        fill_uniform_async(buffer.get<T>(), count, q.seed * 1000003u + stream_id, -bound, bound, stream);
      };
      fill(x, 1, 1.f);
      fill(attn, 2, 1.f);
      fill(w_qkv, 3, sm);
      fill(w_o, 4, sm);
      fill(w1, 5, sm);
      fill(w3, 6, sm);
      fill(w2, 7, sf);
      EventTimer timer;
      const int warmup = std::max(0, q.warmup), reps = std::max(1, q.repetitions);
      LayerPartTiming qkv_part{kLayerParts[0], {}, flops[0], gemm + dims(bn, q.d_model, qkv_cols)};
      qkv_part.timing = Timing::from_samples(timer.time(stream, warmup, reps, [&] {
        gemm_rows(x, w_qkv, qkv, bn, q.d_model, qkv_cols, "cublasGemmEx (QKV projection)");
      }));
      LayerPartTiming out_part{kLayerParts[2], {}, flops[2], gemm + dims(bn, hd, q.d_model)};
      out_part.timing = Timing::from_samples(timer.time(stream, warmup, reps, [&] {
        gemm_rows(attn, w_o, proj, bn, hd, q.d_model, "cublasGemmEx (output projection)");
      }));
      LayerPartTiming mlp_part{kLayerParts[3], {}, flops[3],
                               std::string(q.gated_mlp ? "SwiGLU" : "GELU") + " MLP: " + gemm +
                                   dims(bn, q.d_model, ffn) + (q.gated_mlp ? " (×2)" : "") + ", " +
                                   dims(bn, ffn, q.d_model)};
      mlp_part.timing = Timing::from_samples(timer.time(stream, warmup, reps, [&] {
        gemm_rows(x, w1, up, bn, q.d_model, ffn, "cublasGemmEx (MLP up)");
        if (q.gated_mlp) gemm_rows(x, w3, gate, bn, q.d_model, ffn, "cublasGemmEx (MLP gate)");
        activate<T><<<grid_stride_blocks(bn * ffn), 256, 0, stream>>>(up.get<T>(), q.gated_mlp ? gate.get<T>() : nullptr,
                                                              bn * ffn, q.gated_mlp);
        CUDA_CHECK_LAUNCH("layer timing: MLP activation");
        gemm_rows(up, w2, down, bn, ffn, q.d_model, "cublasGemmEx (MLP down)");
      }));
      r.parts = {qkv_part, out_part, mlp_part};
    });
    CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (const CudaError& err) {
    r.parts.clear();
    r.out_of_memory = err.code() == cudaErrorMemoryAllocation;
    r.error = (r.out_of_memory ? "out of device memory for the block's weights and activations: "
                               : "CUDA error: ") + std::string(err.what());
    cudaGetLastError();
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace attnscope::kernels
