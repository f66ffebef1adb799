// model.cpp — the Explore heatmap's zoom/pan arithmetic, cell lookup, overlay tints and flags
// (see model.hpp). No GL, no ImGui.
#include <algorithm>
#include <cmath>

#include "app/gui/views/explore/model.hpp"

namespace attnscope::gui {

ViewWindow full_window(int64_t n_q, int64_t n_k) {
  return {0.0, 0.0, static_cast<double>(std::max<int64_t>(n_q, 0)), static_cast<double>(std::max<int64_t>(n_k, 0))};
}

bool is_full_window(const ViewWindow& w, int64_t n_q, int64_t n_k) {
  return w.q0 <= 0.0 && w.k0 <= 0.0 && w.q1 >= static_cast<double>(n_q) && w.k1 >= static_cast<double>(n_k);
}

namespace {
// One axis: span in [min(kMinViewSpan, n), n], start shifted so [a, a + span) lies in [0, n].
void clamp_axis(double& a, double& b, int64_t n_int) {
  const double n = static_cast<double>(std::max<int64_t>(n_int, 1));
  double span = std::clamp(b - a, std::min(kMinViewSpan, n), n);
  if (!std::isfinite(span)) span = n;
  double start = std::isfinite(a) ? a : 0.0;
  start = std::clamp(start, 0.0, n - span);
  a = start;
  b = start + span;
}
}  // namespace

ViewWindow clamp_window(ViewWindow w, int64_t n_q, int64_t n_k) {
  clamp_axis(w.q0, w.q1, n_q);
  clamp_axis(w.k0, w.k1, n_k);
  return w;
}

ViewWindow zoom_about(const ViewWindow& w, double factor, double q, double k, int64_t n_q, int64_t n_k) {
  if (!(factor > 0)) return w;
  // The point's fraction across the window stays the same: new_start = p - (p - start) / factor.
  ViewWindow z;
  z.q0 = q - (q - w.q0) / factor;
  z.q1 = z.q0 + w.span_q() / factor;
  z.k0 = k - (k - w.k0) / factor;
  z.k1 = z.k0 + w.span_k() / factor;
  // At the smallest span the zoom stops; keep the point inside by re-centring the clamped span on it.
  const double min_q = std::min(kMinViewSpan, static_cast<double>(n_q));
  const double min_k = std::min(kMinViewSpan, static_cast<double>(n_k));
  if (z.span_q() < min_q) {
    const double f = (q - w.q0) / std::max(w.span_q(), 1e-9);
    z.q0 = q - f * min_q;
    z.q1 = z.q0 + min_q;
  }
  if (z.span_k() < min_k) {
    const double f = (k - w.k0) / std::max(w.span_k(), 1e-9);
    z.k0 = k - f * min_k;
    z.k1 = z.k0 + min_k;
  }
  return clamp_window(z, n_q, n_k);
}

ViewWindow pan_window(const ViewWindow& w, double dq, double dk, int64_t n_q, int64_t n_k) {
  return clamp_window({w.q0 + dq, w.k0 + dk, w.q1 + dq, w.k1 + dk}, n_q, n_k);
}

WindowRequest window_request(const ViewWindow& w, int64_t n_q, int64_t n_k) {
  WindowRequest r;
  r.q0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(w.q0)), 0, n_q);
  r.k0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(w.k0)), 0, n_k);
  r.q1 = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(w.q1)), r.q0, n_q);
  r.k1 = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(w.k1)), r.k0, n_k);
  return r;
}

bool cell_at(const ScoreImage& image, double q, double k, CellHit* hit) {
  if (image.rows <= 0 || image.cols <= 0) return false;
  const auto qf = static_cast<double>(image.q0), qe = static_cast<double>(image.q1);
  const auto kf = static_cast<double>(image.k0), ke = static_cast<double>(image.k1);
  if (q < qf || q >= qe || k < kf || k >= ke) return false;
  const int64_t wq = image.q1 - image.q0, wk = image.k1 - image.k0;
  const auto qi = static_cast<int64_t>(std::floor(q)), ki = static_cast<int64_t>(std::floor(k));
  // Cell r pools rows [q0 + wq·r/rows, q0 + wq·(r+1)/rows) (the same split score_image uses): the cell of
  // row qi is the largest r with wq·r/rows <= qi - q0.
  int row = static_cast<int>(((qi - image.q0) * image.rows + image.rows - 1) / wq);
  while (row > 0 && wq * row / image.rows > qi - image.q0) --row;
  while (row + 1 < image.rows && wq * (row + 1) / image.rows <= qi - image.q0) ++row;
  int col = static_cast<int>(((ki - image.k0) * image.cols + image.cols - 1) / wk);
  while (col > 0 && wk * col / image.cols > ki - image.k0) --col;
  while (col + 1 < image.cols && wk * (col + 1) / image.cols <= ki - image.k0) ++col;
  hit->row = row;
  hit->col = col;
  hit->q_begin = image.q0 + wq * row / image.rows;
  hit->q_end = image.q0 + wq * (row + 1) / image.rows - 1;
  hit->k_begin = image.k0 + wk * col / image.cols;
  hit->k_end = image.k0 + wk * (col + 1) / image.cols - 1;
  return true;
}

ExploreField explore_field_of(const std::string& p) {
  auto starts = [&](const char* prefix) { return p.rfind(prefix, 0) == 0; };
  // core's validate() words its problems as the UI does ("query heads 8 is not a multiple of KV heads 3", "head dim
  // 0: …"); a problem of the group split is fixed by choosing the KV heads, so shown there.
  if (p.find("not a multiple of KV heads") != std::string::npos) return ExploreField::KvHeads;
  if (starts("sequence length N") || starts("N = ") || starts("query length")) return ExploreField::N;
  if (starts("head dim")) return ExploreField::HeadDim;
  if (starts("query heads")) return ExploreField::Heads;
  if (starts("KV heads")) return ExploreField::KvHeads;
  // Mask sentences name the mask or the term ("window (term 1): left extent -3 must be >= 0").
  if (p.find("mask") != std::string::npos || p.find("term") != std::string::npos)
    return ExploreField::Mask;
  return ExploreField::Other;
}

Rgba8 block_overlay_color(TileKind kind) {
  switch (kind) {
    case TileKind::Empty: return {20, 24, 60, 150};     // skipped: darkened, blue-black
    case TileKind::Partial: return {255, 150, 0, 90};   // masked per element: amber
    case TileKind::Full: return {255, 255, 255, 60};    // no masking: lightened
  }
  return {0, 0, 0, 0};
}

}  // namespace attnscope::gui
