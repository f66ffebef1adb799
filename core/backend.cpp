// backend.cpp — names of algorithms and timing statistics shared by every backend.
#include "core/backend.hpp"

#include <algorithm>
#include <cstdio>

namespace attnscope {

namespace {
struct AlgorithmName { Algorithm algorithm; const char* name; };
constexpr AlgorithmName kAlgorithmNames[] = {
    {Algorithm::Reference, "reference"},     {Algorithm::Naive, "naive"},
    {Algorithm::Flash, "flash"},             {Algorithm::Flash1, "flash1"},
    {Algorithm::BlockSparse, "block-sparse"}, {Algorithm::Gathered, "gathered"},
    {Algorithm::Decode, "decode"},           {Algorithm::FlashTensorCore, "flash-tc"},
};
}  // namespace

const char* algorithm_name(Algorithm a) {
  for (auto& n : kAlgorithmNames)
    if (n.algorithm == a) return n.name;
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view s) {
  for (auto& n : kAlgorithmNames)
    if (s == n.name) return n.algorithm;
  if (s == "flash2") return Algorithm::Flash;
  if (s == "sparse") return Algorithm::BlockSparse;
  return std::nullopt;
}

const char* tensor_core_path_name(TensorCorePath p) {
  switch (p) {
    case TensorCorePath::Auto: return "auto";
    case TensorCorePath::Mma: return "mma";
    case TensorCorePath::Wgmma: return "wgmma";
    case TensorCorePath::WarpSpecialized: return "ws";
    case TensorCorePath::WarpSpecializedNoPingPong: return "ws-no-pingpong";
  }
  return "?";
}

std::optional<TensorCorePath> parse_tensor_core_path(std::string_view s) {
  for (TensorCorePath p : {TensorCorePath::Auto, TensorCorePath::Mma, TensorCorePath::Wgmma,
                           TensorCorePath::WarpSpecialized, TensorCorePath::WarpSpecializedNoPingPong})
    if (s == tensor_core_path_name(p)) return p;
  return std::nullopt;
}

std::vector<Algorithm> all_algorithms() {
  std::vector<Algorithm> out;
  for (auto& n : kAlgorithmNames) out.push_back(n.algorithm);
  return out;
}

Timing Timing::from_samples(std::vector<double> samples) {
  Timing t;
  t.samples_ms = samples;
  if (samples.empty()) return t;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  t.median_ms = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  t.min_ms = samples.front();
  t.max_ms = samples.back();
  auto quantile = [&](double f) {
    const double at = f * static_cast<double>(n - 1);
    const size_t lo = static_cast<size_t>(at);
    const size_t hi = std::min(lo + 1, n - 1);
    return samples[lo] + (at - static_cast<double>(lo)) * (samples[hi] - samples[lo]);
  };
  t.q1_ms = quantile(0.25);
  t.q3_ms = quantile(0.75);
  return t;
}

bool Timing::noisy() const {
  const size_t n = samples_ms.size();
  const bool iqr_wide = n >= 4 && median_ms > 0 && iqr_ms() / median_ms > kNoisyIqrShare;
  const bool range_wide = n >= 2 && min_ms > 0 && max_ms / min_ms > kNoisyMaxOverMin;
  return iqr_wide || range_wide;
}

std::string Timing::noisy_text() const {
  if (!noisy()) return {};
  char b[160];
  const double ratio = min_ms > 0 ? max_ms / min_ms : 0;
  const double iqr_share = samples_ms.size() >= 4 && median_ms > 0 ? iqr_ms() / median_ms : 0;
  // Whichever rule fired, by how far past its threshold.
  if (ratio / kNoisyMaxOverMin >= iqr_share / kNoisyIqrShare)
    std::snprintf(b, sizeof b, "noisy: max %.2g × min over %zu runs — other work on the machine?", ratio,
                  samples_ms.size());
  else
    std::snprintf(b, sizeof b, "noisy: quartiles %.0f%% of the median apart — other work on the machine?",
                  100 * iqr_share);
  return b;
}

bool materialises_scores(Algorithm a) { return a == Algorithm::Naive || a == Algorithm::Reference; }

}  // namespace attnscope
