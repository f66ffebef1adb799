// backend.cpp — names of algorithms and timing statistics shared by every backend.
#include "core/backend.hpp"

#include <algorithm>

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
  return t;
}

bool materialises_scores(Algorithm a) { return a == Algorithm::Naive || a == Algorithm::Reference; }

}  // namespace attnscope
