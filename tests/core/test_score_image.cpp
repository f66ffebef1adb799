// test_score_image.cpp — cpu_score_image (the heatmap's data) equals the pooling of reference_head's S and P:
// S cells hold the entry of largest magnitude, P cells the mean, masked entries ignored, empty cells NaN.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/cpu_backend.hpp"
#include "core/reference.hpp"

using namespace attnscope;

namespace {
void check_image(const AttentionInputs& in, ScoreImageRequest req) {
  const ScoreImage img = cpu_score_image(req, 2);
  REQUIRE_MESSAGE(img.ok, img.error);
  const ReferenceHead ref = reference_head(in, req.batch, req.head);
  const int64_t q0 = img.q0, q1 = img.q1, k0 = img.k0, k1 = img.k1;
  const int64_t wq = q1 - q0, wk = k1 - k0;
  int wrong = 0;
  for (int r = 0; r < img.rows; ++r)
    for (int c = 0; c < img.cols; ++c) {
      double best = 0, sum = 0;
      int64_t count = 0;
      for (int64_t i = q0 + wq * r / img.rows; i < q0 + wq * (r + 1) / img.rows; ++i)
        for (int64_t j = k0 + wk * c / img.cols; j < k0 + wk * (c + 1) / img.cols; ++j) {
          const double s = ref.scores[i * ref.cols + j];
          if (std::isinf(s)) continue;
          if (count == 0 || std::fabs(s) > std::fabs(best)) best = s;
          sum += ref.probabilities[i * ref.cols + j];
          ++count;
        }
      const float got = img.values[static_cast<size_t>(r) * img.cols + c];
      if (count == 0) {
        wrong += !std::isnan(got);
        continue;
      }
      const double want = req.kind == ScoreKind::Scores ? best : sum / static_cast<double>(count);
      const double tol = req.kind == ScoreKind::Scores ? 1e-4 * (1 + std::fabs(want)) : 1e-6 + 1e-4 * std::fabs(want);
      wrong += !(std::fabs(got - want) <= tol);
    }
  CHECK(wrong == 0);
  if (req.kind == ScoreKind::Probabilities) {
    int64_t masked_in_window = 0;
    for (auto row : ref.fully_masked_rows) masked_in_window += row >= q0 && row < q1;
    CHECK(img.fully_masked_rows == masked_in_window);
  }
}
}  // namespace

TEST_CASE("cpu_score_image equals pooled reference S and P over masks, windows and odd sizes") {
  uint64_t seed = 500;
  for (const char* mask : {"dense", "causal", "window:20,3+global:2", "strided:9,1", "grid:16:001/110", "random:0.4,5,4"}) {
    AttentionSpec spec;
    spec.batch = 2; spec.q_heads = 2; spec.kv_heads = 1; spec.kv_len = 203; spec.q_len = 150; spec.head_dim = 24;
    spec.mask = parse_mask(mask).mask;
    const AttentionInputs in = generate_inputs(spec, Generator::Positional, ++seed);
    INFO(std::string(mask));
    for (ScoreKind kind : {ScoreKind::Scores, ScoreKind::Probabilities}) {
      ScoreImageRequest req;
      req.inputs = &in;
      req.batch = 1;
      req.head = 1;
      req.kind = kind;
      req.cells_q = 37;
      req.cells_k = 41;
      check_image(in, req);  // pooled
      req.q0 = 10; req.q1 = 60; req.k0 = 100; req.k1 = 170;
      req.cells_q = 512; req.cells_k = 512;
      check_image(in, req);  // a window shown 1:1
    }
  }
}

TEST_CASE("cpu_score_image rejects bad requests with a message") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 16;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 1);
  ScoreImageRequest req;
  CHECK_FALSE(cpu_score_image(req, 1).ok);
  req.inputs = &in;
  req.head = 3;
  const ScoreImage bad = cpu_score_image(req, 1);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("head 3") != std::string::npos);
  req.head = 0;
  req.cells_q = 0;
  CHECK_FALSE(cpu_score_image(req, 1).ok);
}
