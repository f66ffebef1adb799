// reference.cpp — the reference attention, written to be obviously right rather than fast.
#include "core/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.hpp"

namespace attnscope {

const char* generator_name(Generator g) { return g == Generator::Gaussian ? "gaussian" : "positional"; }

std::optional<Generator> parse_generator(std::string_view s) {
  if (s == "gaussian" || s == "random") return Generator::Gaussian;
  if (s == "positional" || s == "rotary") return Generator::Positional;
  return std::nullopt;
}

namespace {

void fill_gaussian(std::vector<float>& x, Rng& rng) {
  for (auto& e : x) e = static_cast<float>(rng.normal());
}

// Rotary-like vectors: component pairs (cos pθ_f, sin pθ_f) with θ_f = 10000^(-2f/d), so that
// q_i · k_j = a² Σ_f cos((i - j) θ_f) (plus noise) peaks at i = j and decays with |i - j|: a band.
// Each head gets its own amplitude, so heads differ in how sharp their band is.
void fill_positional(std::vector<float>& x, int64_t batch, int64_t heads, int64_t len, int64_t d, Rng& rng) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const double amplitude = 1.6 + 0.4 * static_cast<double>(h % 4);
      for (int64_t p = 0; p < len; ++p) {
        float* row = x.data() + ((b * heads + h) * len + p) * d;
        for (int64_t f = 0; f < d; ++f) {
          const int64_t pair = f / 2;
          const double theta = std::pow(10000.0, -2.0 * static_cast<double>(pair) / static_cast<double>(d));
          const double angle = static_cast<double>(p) * theta;
          const double base = (f % 2 == 0) ? std::cos(angle) : std::sin(angle);
          row[f] = static_cast<float>(amplitude * base + 0.25 * rng.normal());
        }
      }
    }
}

}  // namespace

AttentionInputs generate_inputs(const AttentionSpec& spec, Generator generator, uint64_t seed) {
  AttentionInputs in;
  in.spec = spec;
  in.q.resize(static_cast<size_t>(spec.q_elements()));
  in.k.resize(static_cast<size_t>(spec.kv_elements()));
  in.v.resize(static_cast<size_t>(spec.kv_elements()));
  Rng rng_q(seed * 3 + 1), rng_k(seed * 3 + 2), rng_v(seed * 3 + 3);
  if (generator == Generator::Gaussian) {
    fill_gaussian(in.q, rng_q);
    fill_gaussian(in.k, rng_k);
  } else {
    // Q rows use absolute positions, so a query and the key at its own position line up.
    const int64_t offset = spec.kv_len - spec.q_len;
    std::vector<float> full_q(static_cast<size_t>(spec.batch * spec.q_heads * spec.kv_len * spec.head_dim));
    fill_positional(full_q, spec.batch, spec.q_heads, spec.kv_len, spec.head_dim, rng_q);
    for (int64_t bh = 0; bh < spec.batch * spec.q_heads; ++bh)
      std::copy_n(full_q.begin() + (bh * spec.kv_len + offset) * spec.head_dim, spec.q_len * spec.head_dim,
                  in.q.begin() + bh * spec.q_len * spec.head_dim);
    fill_positional(in.k, spec.batch, spec.kv_heads, spec.kv_len, spec.head_dim, rng_k);
  }
  fill_gaussian(in.v, rng_v);
  return in;
}

namespace {

// Row i of one head: fills s (scores, -inf where masked) and p (probabilities), returns false when
// every key is masked (p is then all zeros).
bool reference_row(const AttentionInputs& in, const MaskView& mask, int64_t b, int64_t h, int64_t i,
                   std::vector<double>& s, std::vector<double>& p) {
  const auto& spec = in.spec;
  const int64_t d = spec.head_dim, n = spec.kv_len, kvh = spec.kv_head_of(h);
  const double scale = spec.softmax_scale();
  const float* q = in.q_row(b, h, i);
  double row_max = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    if (!spec.allowed(mask, i, j)) {
      s[j] = -std::numeric_limits<double>::infinity();
      continue;
    }
    const float* k = in.k_row(b, kvh, j);
    double dot = 0.0;
    for (int64_t c = 0; c < d; ++c) dot += static_cast<double>(q[c]) * static_cast<double>(k[c]);
    s[j] = dot * scale;
    row_max = std::max(row_max, s[j]);
  }
  if (row_max == -std::numeric_limits<double>::infinity()) {
    std::fill(p.begin(), p.end(), 0.0);
    return false;
  }
  // softmax(s)_j = exp(s_j - max) / Σ exp(s - max): subtracting the max keeps exp() from overflowing.
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    p[j] = std::isinf(s[j]) ? 0.0 : std::exp(s[j] - row_max);
    sum += p[j];
  }
  for (int64_t j = 0; j < n; ++j) p[j] /= sum;
  return true;
}

void row_output(const AttentionInputs& in, int64_t b, int64_t h, const std::vector<double>& p, double* out) {
  const int64_t d = in.spec.head_dim, kvh = in.spec.kv_head_of(h);
  std::fill(out, out + d, 0.0);
  for (int64_t j = 0; j < in.spec.kv_len; ++j) {
    if (p[j] == 0.0) continue;
    const float* v = in.v_row(b, kvh, j);
    for (int64_t c = 0; c < d; ++c) out[c] += p[j] * static_cast<double>(v[c]);
  }
}

}  // namespace

ReferenceHead reference_head(const AttentionInputs& in, int64_t batch, int64_t q_head) {
  const auto& spec = in.spec;
  const MaskView mask = spec.mask.view();
  ReferenceHead r;
  r.rows = spec.q_len;
  r.cols = spec.kv_len;
  r.scores.resize(static_cast<size_t>(r.rows * r.cols));
  r.probabilities.resize(r.scores.size());
  r.output.resize(static_cast<size_t>(r.rows * spec.head_dim));
  std::vector<double> s(static_cast<size_t>(r.cols)), p(s.size());
  for (int64_t i = 0; i < r.rows; ++i) {
    if (!reference_row(in, mask, batch, q_head, i, s, p)) r.fully_masked_rows.push_back(i);
    std::copy(s.begin(), s.end(), r.scores.begin() + i * r.cols);
    std::copy(p.begin(), p.end(), r.probabilities.begin() + i * r.cols);
    row_output(in, batch, q_head, p, r.output.data() + i * spec.head_dim);
  }
  return r;
}

ReferenceOutput reference_attention(const AttentionInputs& in) {
  const auto& spec = in.spec;
  const MaskView mask = spec.mask.view();
  ReferenceOutput r;
  r.output.resize(static_cast<size_t>(spec.q_elements()));
  std::vector<double> s(static_cast<size_t>(spec.kv_len)), p(s.size());
  for (int64_t b = 0; b < spec.batch; ++b)
    for (int64_t h = 0; h < spec.q_heads; ++h)
      for (int64_t i = 0; i < spec.q_len; ++i) {
        if (!reference_row(in, mask, b, h, i, s, p)) ++r.fully_masked_rows;
        row_output(in, b, h, p, r.output.data() + ((b * spec.q_heads + h) * spec.q_len + i) * spec.head_dim);
      }
  return r;
}

}  // namespace attnscope
