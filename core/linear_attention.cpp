// linear_attention.cpp — see linear_attention.hpp.
#include "core/linear_attention.hpp"

#include <cmath>

namespace attnscope {
namespace {

double phi(double x) { return x > 0 ? x + 1.0 : std::exp(x); }

}  // namespace

float elu_plus_one(float x) { return x > 0 ? x + 1.0f : std::exp(x); }

std::string linear_attention_unsupported(const AttentionSpec& spec) {
  bool patterned = false;
  for (const MaskTerm& t : spec.mask.terms) patterned = patterned || t.kind != MaskTermKind::Dense;
  if (patterned)
    return "linear attention has no sparsity pattern (mask '" + spec.mask.to_string() +
           "'): use a dense mask, with or without causal";
  if (spec.q_heads % spec.kv_heads != 0) return "query heads must be a multiple of KV heads";
  return "";
}

std::vector<double> linear_attention_reference(const AttentionInputs& in, ThreadPool* pool) {
  const AttentionSpec& s = in.spec;
  const int64_t d = s.head_dim;
  std::vector<double> out(in.q.size(), 0.0);
  // φ(K) once per (batch, KV head), in double: the direct formula below reads it N times per key.
  std::vector<double> fk(static_cast<size_t>(s.batch * s.kv_heads * s.kv_len * d));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t g = 0; g < s.kv_heads; ++g)
      for (int64_t j = 0; j < s.kv_len; ++j) {
        const float* k = in.k_row(b, g, j);
        double* to = &fk[static_cast<size_t>(((b * s.kv_heads + g) * s.kv_len + j) * d)];
        for (int64_t x = 0; x < d; ++x) to[x] = phi(k[x]);
      }
  // One task per (batch, query head, query row); each writes only its own output row.
  const auto row = [&](int64_t task, int) {
    const int64_t i = task % s.q_len, bh = task / s.q_len, b = bh / s.q_heads, h = bh % s.q_heads;
    const int64_t g = s.kv_head_of(h);
    const float* q = in.q_row(b, h, i);
    std::vector<double> fq(static_cast<size_t>(d));
    for (int64_t x = 0; x < d; ++x) fq[static_cast<size_t>(x)] = phi(q[x]);
    const int64_t last = s.mask.causal ? s.query_position(i) : s.kv_len - 1;
    double den = 0;
    double* o = &out[static_cast<size_t>(((b * s.q_heads + h) * s.q_len + i) * d)];
    for (int64_t j = 0; j <= last; ++j) {
      const double* k = &fk[static_cast<size_t>(((b * s.kv_heads + g) * s.kv_len + j) * d)];
      double w = 0;
      for (int64_t x = 0; x < d; ++x) w += fq[static_cast<size_t>(x)] * k[x];
      den += w;
      const float* v = in.v_row(b, g, j);
      for (int64_t x = 0; x < d; ++x) o[x] += w * v[x];
    }
    for (int64_t x = 0; x < d; ++x) o[x] /= den;
  };
  const int64_t rows = s.batch * s.q_heads * s.q_len;
  if (pool != nullptr) {
    pool->parallel_for(rows, row);
  } else {
    for (int64_t t = 0; t < rows; ++t) row(t, 0);
  }
  return out;
}

void LinearAttentionState::append(const float* k, const float* v) {
  for (int64_t a = 0; a < d; ++a) {
    const float fk = elu_plus_one(k[a]);
    z[a] += fk;
    float* row = &s[static_cast<size_t>(a * d)];
    for (int64_t c = 0; c < d; ++c) row[c] += fk * v[c];
  }
}

void LinearAttentionState::read(const float* q, float* out) const {
  float den = 0;
  for (int64_t c = 0; c < d; ++c) out[c] = 0;
  for (int64_t a = 0; a < d; ++a) {
    const float fq = elu_plus_one(q[a]);
    den += fq * z[a];
    const float* row = &s[static_cast<size_t>(a * d)];
    for (int64_t c = 0; c < d; ++c) out[c] += fq * row[c];
  }
  for (int64_t c = 0; c < d; ++c) out[c] /= den;
}

std::vector<float> linear_attention_noncausal(const AttentionInputs& in, ThreadPool& pool) {
  const AttentionSpec& s = in.spec;
  std::vector<float> out(in.q.size());
  // One task per (batch, KV head): the state over every key once, then each query of the group reads it.
  pool.parallel_for(s.batch * s.kv_heads, [&](int64_t task, int) {
    const int64_t b = task / s.kv_heads, g = task % s.kv_heads;
    LinearAttentionState state(s.head_dim);
    for (int64_t j = 0; j < s.kv_len; ++j) state.append(in.k_row(b, g, j), in.v_row(b, g, j));
    for (int64_t h = g * s.group_size(); h < (g + 1) * s.group_size(); ++h)
      for (int64_t i = 0; i < s.q_len; ++i)
        state.read(in.q_row(b, h, i), &out[static_cast<size_t>(((b * s.q_heads + h) * s.q_len + i) * s.head_dim)]);
  });
  return out;
}

std::vector<float> linear_attention_causal_chunked(const AttentionInputs& in, int64_t chunk, ThreadPool& pool) {
  const AttentionSpec& s = in.spec;
  const int64_t d = s.head_dim;
  if (chunk < 1) chunk = 1;
  std::vector<float> out(in.q.size());
  // One task per (batch, query head): walk the keys chunk by chunk. Queries whose position lies in the chunk are
  // answered from the state before the chunk plus the chunk's own keys up to their position (the quadratic part);
  // then the chunk's keys are folded into the state.
  pool.parallel_for(s.batch * s.q_heads, [&](int64_t task, int) {
    const int64_t b = task / s.q_heads, h = task % s.q_heads, g = s.kv_head_of(h);
    LinearAttentionState state(d);
    std::vector<float> fq(static_cast<size_t>(d)), fk(static_cast<size_t>(chunk * d));
    for (int64_t c0 = 0; c0 < s.kv_len; c0 += chunk) {
      const int64_t c1 = std::min(s.kv_len, c0 + chunk);
      for (int64_t j = c0; j < c1; ++j)
        for (int64_t x = 0; x < d; ++x) fk[static_cast<size_t>((j - c0) * d + x)] = elu_plus_one(in.k_row(b, g, j)[x]);
      // Queries at positions c0..c1-1: row i sits at position i + kv_len - q_len.
      const int64_t offset = s.kv_len - s.q_len;
      for (int64_t i = std::max<int64_t>(0, c0 - offset); i < std::min(s.q_len, c1 - offset); ++i) {
        const int64_t pos = i + offset;
        const float* q = in.q_row(b, h, i);
        float* o = &out[static_cast<size_t>(((b * s.q_heads + h) * s.q_len + i) * d)];
        for (int64_t x = 0; x < d; ++x) fq[x] = elu_plus_one(q[x]);
        // From the state (every key before the chunk).
        float den = 0;
        for (int64_t c = 0; c < d; ++c) o[c] = 0;
        for (int64_t a = 0; a < d; ++a) {
          den += fq[a] * state.z[a];
          const float* row = &state.s[static_cast<size_t>(a * d)];
          for (int64_t c = 0; c < d; ++c) o[c] += fq[a] * row[c];
        }
        // Inside the chunk, keys up to the query's position.
        for (int64_t j = c0; j <= pos; ++j) {
          float w = 0;
          for (int64_t x = 0; x < d; ++x) w += fq[x] * fk[static_cast<size_t>((j - c0) * d + x)];
          den += w;
          const float* v = in.v_row(b, g, j);
          for (int64_t c = 0; c < d; ++c) o[c] += w * v[c];
        }
        for (int64_t c = 0; c < d; ++c) o[c] /= den;
      }
      for (int64_t j = c0; j < c1; ++j) state.append(in.k_row(b, g, j), in.v_row(b, g, j));
    }
  });
  return out;
}

}  // namespace attnscope
