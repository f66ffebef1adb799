// naive_attention.hpp — attention the way frameworks' unfused path runs it, with S and P in device memory:
//   1. S = scale · Q Kᵀ          cuBLAS strided-batched GEMM, S stored in the spec's dtype
//   2. P = softmax(S) per row    one pass over S (masked pairs -> 0), P stored in the dtype
//   3. O = P V                   cuBLAS strided-batched GEMM
// HBM traffic: read Q, K; write S; read S; write P; read P, V; write O. S and P each need
// batch · q_heads · q_len · kv_len · dtype bytes: the memory wall the lessons show.
// GQA: the g = q_heads / kv_heads query heads that share a KV head are contiguous in Q, S, P and O, so one GEMM
// of g·q_len rows serves the whole group (batch count = batch · kv_heads).
#pragma once
#include <cstdint>
#include <string>

#include "core/mask.hpp"
#include "core/spec.hpp"

namespace attnscope::kernels {

// How the softmax kernel holds a row: Pipelined (rows bulk-copied into shared memory, several rows in flight per
// CTA; 16-byte-aligned rows that fit twice in shared memory), Registers (each row read once into registers; rows up
// to 16384 keys with 16-byte-aligned rows) or Streaming (any row: an online (m, l) pass, then a write pass that
// re-reads S, usually from L2). A forced variant that does not apply falls back along Pipelined -> Registers ->
// Streaming. Auto: the variant measured fastest for the mask kind and row length (softmax_dispatch in the .cu).
enum class SoftmaxVariant { Auto, Registers, Streaming, Pipelined };

struct NaiveParams {
  DType dtype = DType::F32;
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  MaskView mask;               // grid_cells on the device
  const void* q = nullptr;     // device, dtype storage, layouts as in core/spec.hpp
  const void* k = nullptr;
  const void* v = nullptr;
  void* s = nullptr;           // device, batch · q_heads · q_len · kv_len elements
  void* p = nullptr;           // same size as s
  void* o = nullptr;           // Q's shape
  void* cublas = nullptr;      // cublasHandle_t, bound to the same stream by the caller
  unsigned long long* empty_rows = nullptr;  // device counter, optional: += rows with no allowed key
  SoftmaxVariant softmax = SoftmaxVariant::Auto;  // the softmax variant (explicit choice: tests, experiments)
  // At most this many CTAs for the pipelined softmax (0: one wave of resident CTAs, the default). Tests use a small
  // limit so that every CTA walks many rows and reuses each row buffer (the mbarrier phases wrap around).
  int64_t pipelined_grid_limit = 0;

  uint64_t score_elements() const { return static_cast<uint64_t>(batch * q_heads) * q_len * kv_len; }
};

// Bytes of S plus P (what naive attention allocates beyond inputs and output).
uint64_t naive_workspace_bytes(const AttentionSpec& spec);

// Empty when launchable, else the problem in words (sizes, GEMM dimension limits, missing buffers).
std::string validate(const NaiveParams& p);

// The three steps, separately (the benchmark times each) or together.
void launch_naive_scores(const NaiveParams& p, void* stream);
// `variant` Auto: p.softmax.
void launch_masked_softmax(const NaiveParams& p, void* stream, SoftmaxVariant variant = SoftmaxVariant::Auto);
void launch_naive_output(const NaiveParams& p, void* stream);
void launch_naive(const NaiveParams& p, void* stream);

}  // namespace attnscope::kernels
