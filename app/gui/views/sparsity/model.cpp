// model.cpp — the Sparsity mode's model (no GL, no ImGui): the key of what the worker computed for a pattern, and
// the colours and caption of its mask pictures.
// (Patterns and the painted grid: shell/pattern; the computation itself: tasks.cpp.)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <queue>

#include "app/gui/views/sparsity/model.hpp"
#include "core/visit_schedule.hpp"
#include "app/gui/views/explore/model.hpp"
#include "app/gui/gl/heatmap_gl.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {

std::string pattern_key(const AttentionSpec& spec, const TileConfig& tiles, bool measure) {
  return spec.summary() + "|" + spec.mask.to_string() + "|" + std::to_string(tiles.br) + "x" +
         std::to_string(tiles.bc) + (measure ? "|measured" : "");
}

namespace {
uint8_t channel(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }
}  // namespace

Rgba8 mask_share_color(double share, const std::vector<Rgba8>& colormap) {
  const Rgba8 masked = HeatmapGl::kMaskedColor;
  if (colormap.empty() || !(share > 0)) return masked;
  const Rgba8& top = colormap.back();
  const double f = std::min(share, 1.0);
  Rgba8 c{};
  for (int i = 0; i < 3; ++i) c[i] = channel(masked[i] + f * (top[i] - masked[i]));
  c[3] = 255;
  return c;
}

Rgba8 thumbnail_color(double share, TileKind kind, const std::vector<Rgba8>& colormap) {
  const Rgba8 base = mask_share_color(share, colormap), tint = block_overlay_color(kind);
  const double alpha = tint[3] / 255.0;
  Rgba8 c{};
  for (int i = 0; i < 3; ++i) c[i] = channel(tint[i] * alpha + base[i] * (1.0 - alpha));
  c[3] = 255;
  return c;
}

Rgba8 legend_swatch_color(TileKind kind, const std::vector<Rgba8>& colormap) {
  const double share = kind == TileKind::Empty ? 0.0 : kind == TileKind::Partial ? 0.5 : 1.0;
  return thumbnail_color(share, kind, colormap);
}

namespace {
// In-order list scheduling: each task starts on the unit free first; the makespan is when the last one ends.
double makespan(const std::vector<int64_t>& costs, int units) {
  std::priority_queue<double, std::vector<double>, std::greater<double>> free_at;
  for (int u = 0; u < std::max(1, units); ++u) free_at.push(0.0);
  double end = 0;
  for (int64_t c : costs) {
    const double start = free_at.top();
    free_at.pop();
    free_at.push(start + static_cast<double>(c));
    end = std::max(end, start + static_cast<double>(c));
  }
  return end;
}
}  // namespace

PatternNumbers::Stragglers straggler_prediction(const BlockMask& mask, int64_t batch_heads, int units) {
  PatternNumbers::Stragglers st;
  st.units = std::max(1, units);
  const int64_t tr = mask.tiles.tr, tc = mask.tiles.tc;
  st.ctas = batch_heads * tr;
  st.tiles_per_dense_row = tc;
  if (tr <= 0 || tc <= 0 || batch_heads <= 0) return st;
  std::vector<int64_t> row_tiles(static_cast<size_t>(tr), 0);
  int64_t total = 0;
  for (int64_t i = 0; i < tr; ++i) {
    for (int64_t j = 0; j < tc; ++j) row_tiles[static_cast<size_t>(i)] += mask.at(i, j) != TileKind::Empty;
    st.busiest_row_tiles = std::max(st.busiest_row_tiles, row_tiles[static_cast<size_t>(i)]);
    total += row_tiles[static_cast<size_t>(i)];
  }
  st.mean_row_tiles = static_cast<double>(total) / static_cast<double>(tr);
  std::vector<int64_t> sparse, dense;
  for (int64_t bh = 0; bh < batch_heads; ++bh)
    for (int64_t i = 0; i < tr; ++i) {
      sparse.push_back(row_tiles[static_cast<size_t>(i)]);
      dense.push_back(tc);
    }
  const double sparse_span = makespan(sparse, st.units), dense_span = makespan(dense, st.units);
  st.speedup = sparse_span > 0 ? dense_span / sparse_span : 0;

  std::vector<int32_t> offsets{0};
  for (int64_t i = 0; i < tr; ++i) offsets.push_back(offsets.back() + static_cast<int32_t>(row_tiles[static_cast<size_t>(i)]));
  const VisitSplitPlan plan = plan_visit_split(offsets, VisitSplit::Auto);
  st.median_row_tiles = plan.median_visits;
  st.busiest_cta_split = plan.longest_split;
  st.split_rows = static_cast<int64_t>(plan.split_tiles.size());
  if (!plan.split()) {
    st.ctas_split = st.ctas;
    st.speedup_split = st.speedup;
    return st;
  }
  std::vector<int64_t> pieces;
  for (int64_t bh = 0; bh < batch_heads; ++bh)
    for (const WorkItem& item : plan.items) pieces.push_back(item.visits());
  st.ctas_split = static_cast<int64_t>(pieces.size());
  const double split_span = makespan(pieces, st.units);
  st.speedup_split = split_span > 0 ? dense_span / split_span : 0;
  return st;
}

std::string critical_path_words(const PatternNumbers::Stragglers& st) {
  char buf[160];
  if (st.split_rows > 0)
    std::snprintf(buf, sizeof buf, "busiest CTA: %lld tiles, median %lld; with splitting: %lld",
                  static_cast<long long>(st.busiest_row_tiles), static_cast<long long>(st.median_row_tiles),
                  static_cast<long long>(st.busiest_cta_split));
  else
    std::snprintf(buf, sizeof buf, "busiest CTA: %lld tiles, median %lld; nothing to split",
                  static_cast<long long>(st.busiest_row_tiles), static_cast<long long>(st.median_row_tiles));
  return buf;
}

std::vector<std::string> speedup_gap_reasons(const PatternNumbers& n, double dense_ms) {
  std::vector<std::string> reasons;
  const double measured = n.measured_speedup(), predicted = n.predicted_flops_speedup();
  if (!(measured > 0) || !(predicted > 0)) return reasons;
  const double ratio = measured / predicted;
  if (ratio >= 1.0 / (1.0 + kSpeedupGapTolerance) && ratio <= 1.0 + kSpeedupGapTolerance) return reasons;
  char buf[400];
  const PatternNumbers::Stragglers& st = n.stragglers;
  if (st.busiest_row_tiles > 0 && (st.ctas < 2 * st.units || st.busiest_row_tiles > 1.5 * st.mean_row_tiles)) {
    std::snprintf(buf, sizeof buf,
                  "stragglers: the busiest query-tile row visits %lld of %lld tiles, the mean is %.1f; %lld CTAs on %d "
                  "units, so time follows the busiest: straggler-aware prediction %.2f×",
                  static_cast<long long>(st.busiest_row_tiles), static_cast<long long>(st.tiles_per_dense_row),
                  st.mean_row_tiles, static_cast<long long>(st.ctas), st.units, st.speedup);
    std::string reason = buf;
    if (st.split_rows > 0) {
      std::snprintf(buf, sizeof buf,
                    st.measured_split
                        ? "; the measured run split %lld long rows into pieces (busiest CTA %lld tiles): %.2f×"
                        : "; splitting %lld long rows (--visit-split auto) would make the busiest CTA %lld tiles: %.2f×",
                    static_cast<long long>(st.split_rows), static_cast<long long>(st.busiest_cta_split),
                    st.speedup_split);
      reason += buf;
    }
    reasons.push_back(reason);
  }
  if (n.block_mask.stats.partial > 0) {
    std::snprintf(buf, sizeof buf,
                  "partial tiles: %lld of the %lld tiles visited are masked per element and cost as much as full ones "
                  "(element density %.1f%%, block density %.1f%%)",
                  static_cast<long long>(n.block_mask.stats.partial),
                  static_cast<long long>(n.block_mask.stats.partial + n.block_mask.stats.full),
                  100.0 * n.element_density(), 100.0 * n.block_density());
    reasons.push_back(buf);
  }
  if (dense_ms > 0 && dense_ms < 1.0) {
    std::snprintf(buf, sizeof buf,
                  "small problem: dense flash takes %.3g ms, so launch and setup overhead (allocation, the block mask's "
                  "upload) is a large share of each run",
                  dense_ms);
    reasons.push_back(buf);
  }
  if (n.backend == "cpu")
    reasons.push_back("CPU backend: the tiles run on the host's threads with scalar loops and caches, not on a GPU's "
                      "SMs; the cost model's FLOPs and bytes do not bound this time");
  if (ratio > 1.0 + kSpeedupGapTolerance)
    reasons.push_back("measured above predicted: the dense baseline pays for work the cost model does not count "
                      "(per-element masking, memory traffic beyond the tiles)");
  return reasons;
}

std::string mask_picture_caption(int64_t n_q, int64_t n_k, int rows, int cols) {
  const double cell_q = static_cast<double>(n_q) / std::max(1, rows), cell_k = static_cast<double>(n_k) / std::max(1, cols);
  char buf[128];
  if (cell_q <= 1.0 && cell_k <= 1.0) std::snprintf(buf, sizeof buf, "1 cell = 1 pair; colour = allowed");
  else std::snprintf(buf, sizeof buf, "1 cell = %.3g × %.3g pairs; shade = share allowed", cell_q, cell_k);
  return buf;
}

}  // namespace attnscope::gui
