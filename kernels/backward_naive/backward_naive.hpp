// backward_naive.hpp — attention's backward pass the way frameworks' unfused path runs it (issue 19), with every
// matrix stored in the spec's dtype (fp32, fp16 or bf16) and every product and sum computed in fp32 (cuBLAS
// compute-32F, no TF32; the row kernel converts to float).
// Given the forward pass's P (batch · q_heads · q_len · kv_len floats, kept in device memory) and O:
//   1. dV = Pᵀ dO                 cuBLAS strided-batched GEMM
//   2. dP = dO Vᵀ                 cuBLAS strided-batched GEMM, written into the workspace `ds`
//   3. D_i = Σ_d dO_id · O_id,  dS = P ∘ (dP − D)    our row kernel, in place over dP (masked pairs and fully masked
//                                 rows have P = 0, so dS = 0 there)
//   4. dQ = scale · dS K          cuBLAS strided-batched GEMM
//   5. dK = scale · dSᵀ Q         cuBLAS strided-batched GEMM
// GQA: the g = q_heads / kv_heads query heads sharing a KV head are contiguous in Q, dO, P and dS, so one GEMM of
// g·q_len rows serves the group, and the products that contract over query rows (dV, dK) sum the group's heads in
// the same GEMM (batch count = batch · kv_heads), with no extra reduction.
// Memory beyond inputs and gradients: P and dP/dS, each batch · q_heads · q_len · kv_len elements — the N×N matrices a
// training step keeps for the backward pass when attention is not fused.
#pragma once
#include <cstdint>
#include <string>

#include "core/spec.hpp"

namespace attnscope::kernels {

struct NaiveBackwardParams {
  DType dtype = DType::F32;      // storage of every buffer below
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  const void* q = nullptr;       // device, layouts as in core/spec.hpp (Q, O, dO, dQ: Q's; K, V, dK, dV: K's)
  const void* k = nullptr;
  const void* v = nullptr;
  const void* o = nullptr;       // the forward's O
  const void* d_out = nullptr;   // dO, the gradient of the loss with respect to O
  const void* p = nullptr;       // the forward's P (masked pairs 0, fully masked rows all 0): score-matrix shaped
  void* ds = nullptr;            // workspace, score-matrix shaped: dP, then dS in place
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
  void* cublas = nullptr;        // cublasHandle_t; bound to the launch's stream by the launch

  uint64_t score_elements() const { return static_cast<uint64_t>(batch * q_heads) * q_len * kv_len; }
};

// Bytes of P plus dP/dS in the spec's dtype: what the naive backward keeps beyond inputs and gradients.
uint64_t naive_backward_workspace_bytes(const AttentionSpec& spec);

// Empty when launchable, else the problem in words (sizes, cuBLAS's 32-bit dimensions, missing buffers).
std::string validate(const NaiveBackwardParams& p);

// Steps 1–5 above on `stream`; every element of dQ, dK and dV is written (GEMMs with beta = 0).
void launch_naive_backward(const NaiveBackwardParams& p, void* stream);

}  // namespace attnscope::kernels
