// linear_attention.hpp — attention without the N×N matrix by a kernel feature map (issue 20), CPU twins and the
// float64 reference the GPU kernels are checked against.
//
// Softmax attention weighs key j for query i by exp(qᵢ·kⱼ·scale). Linear attention replaces that weight by
// φ(qᵢ)·φ(kⱼ) with a positive feature map φ(x) = elu(x) + 1 (x + 1 for x > 0, eˣ otherwise), so the sum over keys
// can be regrouped:
//   Oᵢ = Σⱼ (φ(qᵢ)·φ(kⱼ)) vⱼ / Σⱼ φ(qᵢ)·φ(kⱼ)  =  φ(qᵢ)ᵀ S / φ(qᵢ)ᵀ z,   S = Σⱼ φ(kⱼ) vⱼᵀ (d×d),  z = Σⱼ φ(kⱼ)
// Non-causal: S and z once per head, then every query in O(d²): linear in N.
// Causal (key j ≤ position of query i): S and z become running sums. The chunked form does C keys at a time:
// inside a chunk the weights φ(qᵢ)·φ(kⱼ) are computed directly (a small quadratic block, tensor-core friendly on
// the GPU), and the state (S, z) carried from the previous chunks adds everything before it. State in fp32.
// Shapes and GQA as AttentionSpec (q_len ≤ kv_len, queries are the last q_len positions); masks other than causal
// are not part of linear attention: spec.mask must be dense (causal flag allowed).
#pragma once
#include <string>
#include <vector>

#include "core/reference.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

// "" when the spec suits linear attention, else why not.
std::string linear_attention_unsupported(const AttentionSpec& spec);

// float64, directly from the first formula (O(N²·d) per head): what the others are checked against. Rows are
// spread over `pool` when one is given (the kernel tests' N = 4097 cases), else computed in this thread.
std::vector<double> linear_attention_reference(const AttentionInputs& in, ThreadPool* pool = nullptr);

// float32 twins. `chunk` (causal only) is the number of keys per chunk, >= 1.
std::vector<float> linear_attention_noncausal(const AttentionInputs& in, ThreadPool& pool);
std::vector<float> linear_attention_causal_chunked(const AttentionInputs& in, int64_t chunk, ThreadPool& pool);

// The recurrent decode step: the state of one (batch, KV head) after t tokens is S (d×d, row-major, S[a][b] =
// Σ φ(k)_a v_b) and z (d). Appending a token updates them in O(d²); a query reads them in O(d²), whatever t is.
struct LinearAttentionState {
  int64_t d = 0;
  std::vector<float> s, z;  // d·d and d
  explicit LinearAttentionState(int64_t head_dim = 0)
      : d(head_dim), s(static_cast<size_t>(head_dim * head_dim), 0.0f), z(static_cast<size_t>(head_dim), 0.0f) {}
  void append(const float* k, const float* v);
  void read(const float* q, float* out) const;  // out: d values
};

float elu_plus_one(float x);

}  // namespace attnscope
