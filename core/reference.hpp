// reference.hpp — inputs and the readable reference attention every other implementation is checked against.
//
//   S = scale · Q Kᵀ               (masked pairs: -inf)
//   P = softmax(S) row by row      (masked pairs exactly 0)
//   O = P V
// Accumulates in double. A row whose every key is masked has no softmax; its output is defined as zeros
// and the row is reported in fully_masked_rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace attnscope {

enum class Generator {
  Gaussian,    // i.i.d. N(0, 1) for Q, K and V
  Positional,  // rotary-like Q and K: scores peak where q ≈ k, so the heatmap shows a diagonal band
};
const char* generator_name(Generator g);
std::optional<Generator> parse_generator(std::string_view s);

struct AttentionInputs {
  AttentionSpec spec;
  std::vector<float> q, k, v;  // layouts in spec.hpp

  const float* q_row(int64_t b, int64_t h, int64_t i) const {
    return q.data() + ((b * spec.q_heads + h) * spec.q_len + i) * spec.head_dim;
  }
  const float* k_row(int64_t b, int64_t kvh, int64_t j) const {
    return k.data() + ((b * spec.kv_heads + kvh) * spec.kv_len + j) * spec.head_dim;
  }
  const float* v_row(int64_t b, int64_t kvh, int64_t j) const {
    return v.data() + ((b * spec.kv_heads + kvh) * spec.kv_len + j) * spec.head_dim;
  }
};

// Deterministic for (spec shapes, generator, seed) on every platform.
AttentionInputs generate_inputs(const AttentionSpec& spec, Generator generator, uint64_t seed);

// One head with S and P materialised (q_len x kv_len, row-major), for display and tests.
struct ReferenceHead {
  int64_t rows = 0, cols = 0;
  std::vector<double> scores;         // masked: -inf
  std::vector<double> probabilities;  // masked: 0
  std::vector<double> output;         // rows x head_dim
  std::vector<int64_t> fully_masked_rows;
};
ReferenceHead reference_head(const AttentionInputs& in, int64_t batch, int64_t q_head);

// The whole output O (Q's layout), computed row by row in O(kv_len) extra memory per row.
struct ReferenceOutput {
  std::vector<double> output;
  int64_t fully_masked_rows = 0;
};
ReferenceOutput reference_attention(const AttentionInputs& in);

}  // namespace attnscope
