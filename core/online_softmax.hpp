// online_softmax.hpp — softmax(s)·V over a row that arrives a tile at a time (Milakov & Gimelshein 2018;
// FlashAttention). Per row the state is m (max so far), l (Σ exp(s - m)) and acc (Σ exp(s - m) v).
// For a new tile with scores s_j (masked: -inf) and value rows v_j:
//   m_new   = max(m, max_j s_j)
//   rescale = exp(m - m_new)                      (0 when m = -inf: nothing was accumulated yet)
//   l       = l · rescale + Σ_j exp(s_j - m_new)
//   acc     = acc · rescale + Σ_j exp(s_j - m_new) v_j
// and at the end O = acc / l. A tile whose every score is -inf leaves the state unchanged (rescale 1);
// a row that never saw an allowed key ends with l = 0, and its output is defined as zeros (as reference.hpp).
// Templated on the arithmetic type: float in the CPU twins, double in the tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/tile_kernels.hpp"

namespace attnscope {

// x_j = exp(x_j - shift): float uses the vectorised exp of tile_kernels.hpp, other types std::exp.
inline void exp_shifted_tile(float* x, int64_t n, float shift) { exp_shifted(x, n, shift); }
template <class Real>
void exp_shifted_tile(Real* x, int64_t n, Real shift) {
  for (int64_t j = 0; j < n; ++j) x[j] = std::exp(x[j] - shift);
}

// The softmax half of one tile's update for one row: updates m and l, rescales acc, and overwrites scores
// (-inf = masked) with the weights p_j = exp(s_j - m_new). The caller then adds Σ_j p_j v_j to acc (the
// CPU twins do that for a whole tile at once, as a small matrix product). Returns the rescale factor.
template <class Real>
Real online_softmax_rescale(Real& m, Real& l, Real* acc, int64_t head_dim, Real* scores, int64_t count) {
  Real tile_max = -std::numeric_limits<Real>::infinity();
  for (int64_t j = 0; j < count; ++j) tile_max = scores[j] > tile_max ? scores[j] : tile_max;
  if (tile_max == -std::numeric_limits<Real>::infinity()) {
    for (int64_t j = 0; j < count; ++j) scores[j] = Real(0);  // all masked: no weights, state unchanged
    return Real(1);
  }
  const Real m_new = tile_max > m ? tile_max : m;
  const Real rescale = std::exp(m - m_new);  // exp(-inf) = 0 on the first allowed tile
  if (rescale != Real(1)) {
    l *= rescale;
    for (int64_t c = 0; c < head_dim; ++c) acc[c] *= rescale;
  }
  exp_shifted_tile(scores, count, m_new);  // p_j = exp(s_j - m_new); masked: exactly 0
  double sum = 0;  // the tile's Σ p_j in double: l keeps float rounding out of long rows
  for (int64_t j = 0; j < count; ++j) sum += static_cast<double>(scores[j]);
  l += static_cast<Real>(sum);
  m = m_new;
  return rescale;
}

// One tile for one row, on raw storage: scores[j] for j < count (-inf = masked), value(j) -> pointer to
// v_j's head_dim values. Overwrites scores with the weights exp(s_j - m_new). Returns the rescale factor.
template <class Real, class ValueRow>
Real online_softmax_update(Real& m, Real& l, Real* acc, int64_t head_dim, Real* scores, int64_t count,
                           ValueRow value) {
  const Real rescale = online_softmax_rescale(m, l, acc, head_dim, scores, count);
  for (int64_t j = 0; j < count; ++j) {
    const Real p = scores[j];
    if (p == Real(0)) continue;
    const auto* v = value(j);
    for (int64_t c = 0; c < head_dim; ++c) acc[c] += p * static_cast<Real>(v[c]);
  }
  return rescale;
}

template <class Real>
struct OnlineSoftmaxRow {
  Real m = -std::numeric_limits<Real>::infinity();
  Real l = 0;
  std::vector<Real> acc;  // head_dim entries

  explicit OnlineSoftmaxRow(int64_t head_dim = 0) : acc(static_cast<size_t>(head_dim), Real(0)) {}

  // Folds in one tile: scores[j] for j < count (-inf = masked), value(j) -> pointer to v_j's head_dim values.
  // Overwrites scores with the unnormalised weights exp(s_j - m_new). Returns the rescale factor.
  // Folds in one tile (see online_softmax_update).
  template <class ValueRow>
  Real update(Real* scores, int64_t count, ValueRow value) {
    return online_softmax_update(m, l, acc.data(), static_cast<int64_t>(acc.size()), scores, count, value);
  }

  bool fully_masked() const { return l == Real(0); }

  // O = acc / l, or zeros for a fully masked row.
  template <class Out>
  void finish(Out* out) const {
    const Real inv = fully_masked() ? Real(0) : Real(1) / l;
    for (size_t c = 0; c < acc.size(); ++c) out[c] = static_cast<Out>(acc[c] * inv);
  }

  Real acc_norm() const {
    Real s = 0;
    for (auto a : acc) s += a * a;
    return std::sqrt(s);
  }
};

// Merges two partial states of one row computed over disjoint key ranges (split-KV decoding):
//   m = max(m_a, m_b), l = l_a e^{m_a - m} + l_b e^{m_b - m}, acc likewise.
template <class Real>
void merge_online_softmax(Real& m, Real& l, Real* acc, Real m_b, Real l_b, const Real* acc_b, int64_t head_dim) {
  if (l_b == Real(0)) return;
  if (l == Real(0)) {
    m = m_b; l = l_b;
    for (int64_t c = 0; c < head_dim; ++c) acc[c] = acc_b[c];
    return;
  }
  const Real m_new = m > m_b ? m : m_b;
  const Real fa = std::exp(m - m_new), fb = std::exp(m_b - m_new);
  l = l * fa + l_b * fb;
  for (int64_t c = 0; c < head_dim; ++c) acc[c] = acc[c] * fa + acc_b[c] * fb;
  m = m_new;
}

}  // namespace attnscope
