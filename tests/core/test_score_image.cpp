// test_score_image.cpp — cpu_score_image (the heatmap's data) equals the pooling of reference_head's S and P:
// S cells hold the entry of largest magnitude, P cells the mean, masked entries ignored, empty cells NaN; every
// cell carries the share of its pairs the mask allows (a pooled picture of a sparse mask shows its density).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/allowed_pairs.hpp"
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
      const int64_t cell_pairs = (q0 + wq * (r + 1) / img.rows - (q0 + wq * r / img.rows)) *
                                 (k0 + wk * (c + 1) / img.cols - (k0 + wk * c / img.cols));
      const float share = img.allowed[static_cast<size_t>(r) * img.cols + c];
      wrong += !(std::fabs(share - static_cast<double>(count) / static_cast<double>(cell_pairs)) <= 1e-6);
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

namespace {
ScoreImage pooled_picture(const char* mask, int64_t n, int cells) {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = n;
  spec.head_dim = 8;
  spec.mask = parse_mask(mask).mask;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 3);
  ScoreImageRequest req;
  req.inputs = &in;
  req.cells_q = req.cells_k = cells;
  return cpu_score_image(req, 2);
}
}  // namespace

TEST_CASE("a pooled picture of random:0.1 at N = 4096 carries its density, not 'some pair allowed'") {
  const ScoreImage img = pooled_picture("random:0.1", 4096, 512);  // 8 x 8 pairs per cell
  REQUIRE_MESSAGE(img.ok, img.error);
  REQUIRE(img.allowed.size() == img.values.size());
  double share_sum = 0;
  int64_t cells_with_any = 0;
  for (size_t i = 0; i < img.values.size(); ++i) {
    share_sum += img.allowed[i];
    cells_with_any += !std::isnan(img.values[i]);
  }
  const double mean_share = share_sum / static_cast<double>(img.values.size());
  CHECK(mean_share == doctest::Approx(0.1).epsilon(0.2));  // 0.1 ± 0.02
  // Why the picture looked dense: almost every 8 x 8 cell holds at least one allowed pair (1 − 0.9^64 ≈ 0.999).
  CHECK(static_cast<double>(cells_with_any) / static_cast<double>(img.values.size()) > 0.99);
  // The shares add up to the mask's exact pair count.
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 4096;
  spec.mask = parse_mask("random:0.1").mask;
  CHECK(share_sum * 64 == doctest::Approx(count_allowed_pattern(spec).pairs).epsilon(1e-6));
}

TEST_CASE("a pooled picture of strided:64 gives every row of cells the same share (no aliasing)") {
  // 4096 keys in 512 cells of 8: one summary column in every 8th cell column; the band is 0.
  const ScoreImage img = pooled_picture("strided:64", 4096, 512);
  REQUIRE_MESSAGE(img.ok, img.error);
  double lo = 1, hi = 0;
  for (int r = 0; r < img.rows; ++r) {
    double row = 0;
    for (int c = 0; c < img.cols; ++c) row += img.allowed[static_cast<size_t>(r) * img.cols + c];
    row /= img.cols;
    lo = std::min(lo, row);
    hi = std::max(hi, row);
  }
  // Each row: the 64 summary columns of 4096 keys, plus its diagonal pair where it is not a summary column.
  CHECK(lo >= 1.0 / 64 - 1e-6);
  CHECK(hi <= 1.0 / 64 + 1.0 / 4096 + 1e-6);
  // Across a row the summary columns come every 8th cell, each 1/8 allowed.
  for (int c = 0; c < 16; ++c) CHECK(img.allowed[static_cast<size_t>(100) * img.cols + c] ==
                                     doctest::Approx(c % 8 == 0 ? 1.0 / 8 : 0.0));
}
