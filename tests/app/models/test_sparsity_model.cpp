// test_sparsity_model.cpp — the Sparsity mode's model without a display: the painted grid and its text form, the
// pattern numbers (densities, predicted and measured speed-up) and a cancelled computation.
#include <doctest/doctest.h>

#include "core/visit_schedule.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "app/gui/gl/heatmap_gl.hpp"
#include "app/gui/views/sparsity/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("painted grid: resize, paint, fill, invert, resample, and the grid:B:ROWS text round trip") {
  PatternModel p;
  CHECK(ensure_grid_term(p.ref(), 300, 64));
  CHECK_FALSE(ensure_grid_term(p.ref(), 300, 64));  // one grid per pattern
  CHECK(p.grid.block == 64);
  CHECK(p.grid.rows == 5);  // ceil(300 / 64)
  CHECK(grid_cells_on(p.grid) == 0);
  CHECK(paint_cell(p.grid, 1, 3, true));
  CHECK_FALSE(paint_cell(p.grid, 1, 3, true));  // already on
  CHECK_FALSE(paint_cell(p.grid, 5, 0, true));  // outside
  CHECK(paint_cell(p.grid, 4, 4, true));
  CHECK(grid_cells_on(p.grid) == 2);

  // The text form parses back to the same grid, and the mask allows exactly the painted blocks.
  const MaskParseResult parsed = parse_mask(pattern_text(p.ref()));
  REQUIRE_MESSAGE(parsed.ok, parsed.error);
  CHECK(parsed.mask.grid.cells == p.grid.cells);
  CHECK(parsed.mask.grid.block == 64);
  const MaskView view = parsed.mask.view();
  CHECK(view.allowed(64, 192));    // block (1, 3)
  CHECK(view.allowed(299, 299));   // block (4, 4)
  CHECK_FALSE(view.allowed(0, 0));

  invert_grid(p.grid);
  CHECK(grid_cells_on(p.grid) == 23);
  fill_grid(p.grid, false);
  CHECK(grid_cells_on(p.grid) == 0);
  // Halving the block resamples: one painted 64-block becomes four 32-blocks.
  paint_cell(p.grid, 1, 3, true);
  set_grid_block(p.grid, 32, 300);
  CHECK(p.grid.rows == 10);
  CHECK(grid_cells_on(p.grid) == 4);
  CHECK(p.grid.cells[static_cast<size_t>(2 * 10 + 6)] == 1);
  CHECK(p.grid.cells[static_cast<size_t>(3 * 10 + 7)] == 1);
  // A longer sequence grows the grid and keeps the painting; the block never gets too small for N.
  resize_grid(p.grid, 400);
  CHECK(p.grid.rows == 13);
  CHECK(grid_cells_on(p.grid) == 4);
  set_grid_block(p.grid, 1, 65536);
  CHECK(p.grid.rows <= kMaxGridSide);
}

TEST_CASE("pattern numbers: densities from the block mask, prediction from the cost model, measured runs") {
  auto backend = make_cpu_backend(2);
  for (const char* text : {"window:32", "strided:16,4", "dilated:64,3+global:4"}) {
    INFO(text);
    AttentionSpec spec;
    spec.q_len = spec.kv_len = 333;  // odd: partial last tiles
    spec.head_dim = 32;
    const MaskParseResult parsed = parse_mask(text);
    REQUIRE(parsed.ok);
    spec.mask = parsed.mask;
    spec.mask.causal = true;
    PatternRequest req;
    req.spec = spec;
    req.tiles = TileConfig{64, 32};
    req.repetitions = 2;
    req.picture_cells = 50;
    int steps = 0;
    const PatternNumbers n = compute_pattern_numbers(
        *backend, req, [&](double, const std::string&) { ++steps; }, [] { return false; });
    REQUIRE_MESSAGE(n.ok, n.error);
    CHECK(steps >= 4);
    // Element density: the exact allowed-pair count over N².
    CHECK(n.block_mask.stats.allowed_pairs == count_allowed_pairs(spec));
    CHECK(n.element_density() == doctest::Approx(static_cast<double>(count_allowed_pairs(spec)) / (333.0 * 333.0)));
    // Block density: non-empty tiles of 64 x 32 over all tiles.
    const BlockMask m = build_block_mask(spec, 64, 32, false);
    CHECK(n.block_density() == doctest::Approx(static_cast<double>(m.stats.partial + m.stats.full) /
                                               static_cast<double>(m.tiles.tile_count())));
    CHECK(n.block_mask.kinds == m.kinds);
    // Prediction: the cost model's dense flash (no mask, as the baseline is measured) over block-sparse FLOPs.
    const PatternStats ps = pattern_stats(spec, req.tiles, n.gathered_relevant);
    AttentionSpec unmasked = spec;
    unmasked.mask = MaskSpec{};
    CHECK(n.predicted_flops_speedup() ==
          doctest::Approx(algorithm_cost(Algorithm::Flash, unmasked, req.tiles, PatternStats{}).flops /
                          algorithm_cost(Algorithm::BlockSparse, spec, req.tiles, ps).flops));
    CHECK(n.predicted_flops_speedup() > 1.0);  // causal + local: block-sparse skips tiles
    CHECK(n.gathered_relevant == (std::string(text).find("window") == std::string::npos));
    // The picture: allowed fraction per cell; weighted by cell area it sums to the allowed pairs.
    REQUIRE(n.picture_rows == 50);
    double allowed = 0;
    for (int r = 0; r < 50; ++r)
      for (int c = 0; c < 50; ++c) {
        const double area = static_cast<double>((333 * (r + 1) / 50 - 333 * r / 50) * (333 * (c + 1) / 50 - 333 * c / 50));
        allowed += n.picture[static_cast<size_t>(r * 50 + c)] * area;
      }
    CHECK(allowed == doctest::Approx(static_cast<double>(count_allowed_pairs(spec))).epsilon(1e-6));
    // Measured: both runs succeeded with positive medians of the requested repetitions.
    REQUIRE(n.measured);
    CHECK(n.flash_run.ok);
    CHECK(n.sparse_run.ok);
    CHECK(n.flash_run.timing.samples_ms.size() == 2);
    CHECK(n.flash_run.timing.median_ms > 0);
    CHECK(n.measured_speedup() > 0);
    CHECK(n.gathered_run.ok == n.gathered_relevant);
  }
}

TEST_CASE("pattern numbers: a cancelled computation says so") {
  auto backend = make_cpu_backend(1);
  PatternRequest req;
  req.spec.q_len = req.spec.kv_len = 256;
  const PatternNumbers n = compute_pattern_numbers(*backend, req, [](double, const std::string&) {}, [] { return true; });
  CHECK(n.cancelled);
  CHECK_FALSE(n.measured);
}

TEST_CASE("A/B thumbnails: a cell's colour is its share of allowed pairs, and the legend shows the colours drawn") {
  const std::vector<Rgba8> map = make_colormap(256);
  // Shade = share allowed: grey at 0, the map's top at 1, in between by the share.
  CHECK(mask_share_color(0.0, map) == HeatmapGl::kMaskedColor);
  CHECK(mask_share_color(1.0, map) == map.back());
  const Rgba8 tenth = mask_share_color(0.1, map);
  for (int i = 0; i < 3; ++i)
    CHECK(tenth[i] == std::lround(HeatmapGl::kMaskedColor[i] + 0.1 * (map.back()[i] - HeatmapGl::kMaskedColor[i])));
  // A pattern whose picture cells are its tiles (N = 1024, 16 cells of 64, tiles 64 x 64): every empty tile's
  // thumbnail cell is the legend's "empty", every full tile's the legend's "full".
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 1024;
  spec.head_dim = 16;
  spec.mask = parse_mask("window:100").mask;
  PatternRequest req;
  req.spec = spec;
  req.tiles = TileConfig{64, 64};
  req.measure = false;
  req.picture_cells = 16;
  auto backend = make_cpu_backend(1);
  const PatternNumbers n = compute_pattern_numbers(*backend, req, [](double, const std::string&) {}, [] { return false; });
  REQUIRE(n.ok);
  REQUIRE(n.picture_rows == 16);
  int empty = 0, full = 0;
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 0; c < 16; ++c) {
      const TileKind kind = n.block_mask.at(r, c);
      const Rgba8 drawn = thumbnail_color(n.picture[static_cast<size_t>(r * 16 + c)], kind, map);
      if (kind == TileKind::Empty) { CHECK(drawn == legend_swatch_color(TileKind::Empty, map)); ++empty; }
      if (kind == TileKind::Full) { CHECK(drawn == legend_swatch_color(TileKind::Full, map)); ++full; }
    }
  CHECK(empty > 0);
  CHECK(full > 0);
  // The caption says what a cell is.
  CHECK(mask_picture_caption(4096, 4096, 96, 96) == "1 cell = 42.7 × 42.7 pairs; shade = share allowed");
}

TEST_CASE("painting along the stroke: a drag between two frames paints every block on the line, no gaps") {
  PatternModel p;
  REQUIRE(ensure_grid_term(p.ref(), 1024, 64));  // 16 x 16 blocks
  // The pointer was over block (1, 2) last frame and is over (4, 12) now: ten columns, one block in each, each
  // within half a block of the true line, both ends included.
  CHECK(paint_line(p.grid, 1, 2, 4, 12, true));
  CHECK(grid_cells_on(p.grid) == 11);
  for (int64_t col = 2; col <= 12; ++col) {
    int64_t painted_rows = 0, row_painted = -1;
    for (int64_t row = 0; row < 16; ++row)
      if (p.grid.cells[static_cast<size_t>(row * 16 + col)]) { ++painted_rows; row_painted = row; }
    CHECK(painted_rows == 1);
    const double true_row = 1.0 + 3.0 * static_cast<double>(col - 2) / 10.0;
    CHECK(std::fabs(static_cast<double>(row_painted) - true_row) <= 0.5 + 1e-9);
  }
  CHECK(p.grid.cells[static_cast<size_t>(1 * 16 + 2)] == 1);
  CHECK(p.grid.cells[static_cast<size_t>(4 * 16 + 12)] == 1);
  // Steep, backwards and partly outside the grid: the blocks inside are painted (one per row), the rest skipped.
  fill_grid(p.grid, false);
  CHECK(paint_line(p.grid, 20, 5, 0, 3, true));
  for (int64_t row = 0; row < 16; ++row) {
    int64_t painted = 0;
    for (int64_t col = 0; col < 16; ++col) painted += p.grid.cells[static_cast<size_t>(row * 16 + col)];
    CHECK(painted == 1);
  }
  // Erasing along the same stroke, and a stroke of one block.
  CHECK(paint_line(p.grid, 20, 5, 0, 3, false));
  CHECK(grid_cells_on(p.grid) == 0);
  CHECK(paint_line(p.grid, 7, 7, 7, 7, true));
  CHECK_FALSE(paint_line(p.grid, 7, 7, 7, 7, true));  // unchanged
}

TEST_CASE("Sparsity: a measured speed-up far from the prediction is explained; the straggler-aware prediction") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 1024;
  spec.mask = parse_mask("causal").mask;
  const BlockMask mask = build_block_mask(spec, 64, 64, true);
  // 16 Q-tile rows visiting 1 .. 16 tiles. With more units than CTAs the busiest row sets the time: no speed-up.
  const PatternNumbers::Stragglers wide = straggler_prediction(mask, 1, 132);
  CHECK(wide.busiest_row_tiles == 16);
  CHECK(wide.mean_row_tiles == doctest::Approx(8.5));
  CHECK(wide.ctas == 16);
  CHECK(wide.speedup == doctest::Approx(1.0));
  // On one unit the work adds up: 256 tiles against 136.
  CHECK(straggler_prediction(mask, 1, 1).speedup == doctest::Approx(256.0 / 136.0));
  // Two units, in-order hand-out: between the two.
  const double two = straggler_prediction(mask, 1, 2).speedup;
  CHECK(two > 1.0);
  CHECK(two <= 256.0 / 136.0 + 1e-9);

  PatternNumbers n;
  n.block_mask = mask;
  n.flash.flops = 1.97;
  n.block_sparse.flops = 1.0;
  n.measured = true;
  n.backend = "cuda";
  n.flash_run.ok = n.sparse_run.ok = true;
  n.flash_run.timing.median_ms = 0.74;
  n.sparse_run.timing.median_ms = 1.0;  // measured 0.74× against predicted 1.97×
  n.stragglers = wide;
  const std::vector<std::string> reasons = speedup_gap_reasons(n, n.flash_run.timing.median_ms);
  auto mentions = [&](const char* word) {
    return std::any_of(reasons.begin(), reasons.end(), [&](const std::string& r) { return r.find(word) != std::string::npos; });
  };
  CHECK(mentions("busiest query-tile row visits 16 of 16 tiles, the mean is 8.5"));
  CHECK(mentions("partial tiles: 16 of the 136 tiles"));
  CHECK(mentions("small problem"));
  CHECK_FALSE(mentions("CPU backend"));
  // Within 25 %: nothing to explain.
  n.sparse_run.timing.median_ms = 0.74 / 1.8;
  CHECK(speedup_gap_reasons(n, 0.74).empty());
}

TEST_CASE("Sparsity: the critical path with and without splitting (window + global tokens)") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 4096;
  spec.mask = parse_mask("window:128+global:16").mask;
  const BlockMask mask = build_block_mask(spec, 64, 64, true);
  // Q-tile row 0 holds the global tokens: it visits all 64 tiles; a window row visits about 5 (4 + the global column).
  // With more units than CTAs (one head: 64 CTAs on 132 SMs) the longest CTA is the time.
  const PatternNumbers::Stragglers st = straggler_prediction(mask, 1, 132);
  CHECK(st.busiest_row_tiles == 64);
  CHECK(st.median_row_tiles >= 4);
  CHECK(st.median_row_tiles <= 6);
  CHECK(st.split_rows == 1);
  CHECK(st.busiest_cta_split <= 2 * std::max<int64_t>(st.median_row_tiles, kSplitMinPieceVisits));
  CHECK(st.ctas_split > st.ctas);
  // Unsplit: 64 / 64 = 1×, whatever the density. Split: dense 64 over the busiest CTA left.
  CHECK(st.speedup == doctest::Approx(1.0));
  CHECK(st.speedup_split == doctest::Approx(64.0 / static_cast<double>(st.busiest_cta_split)));
  CHECK(critical_path_words(st) == "busiest CTA: 64 tiles, median " + std::to_string(st.median_row_tiles) +
                                       "; with splitting: " + std::to_string(st.busiest_cta_split));
  // Many heads fill the machine: splitting matters less, but never makes the prediction worse here.
  const PatternNumbers::Stragglers heads = straggler_prediction(mask, 64, 132);
  CHECK(heads.speedup_split >= heads.speedup);
  CHECK(heads.speedup > st.speedup);

  // The prediction for the measured run follows its split mode; the straggler reason names the split.
  PatternNumbers n;
  n.block_mask = mask;
  n.flash.flops = 10.0;
  n.block_sparse.flops = 1.0;
  n.measured = true;
  n.backend = "cuda";
  n.flash_run.ok = n.sparse_run.ok = true;
  n.flash_run.timing.median_ms = 5.0;
  n.sparse_run.timing.median_ms = 5.0;
  n.stragglers = st;
  CHECK(n.stragglers.speedup_as_measured() == doctest::Approx(st.speedup));
  CHECK(n.stragglers.busiest_cta_as_measured() == 64);
  std::vector<std::string> reasons = speedup_gap_reasons(n, 5.0);
  auto mentions = [&](const char* word) {
    return std::any_of(reasons.begin(), reasons.end(), [&](const std::string& r) { return r.find(word) != std::string::npos; });
  };
  CHECK(mentions("would make the busiest CTA"));
  n.stragglers.measured_split = true;
  CHECK(n.stragglers.speedup_as_measured() == doctest::Approx(st.speedup_split));
  reasons = speedup_gap_reasons(n, 5.0);
  CHECK(mentions("the measured run split 1 long rows"));

  // A sliding window has no stragglers: nothing split, both predictions equal.
  spec.mask = parse_mask("window:256").mask;
  const PatternNumbers::Stragglers window = straggler_prediction(build_block_mask(spec, 64, 64, true), 1, 132);
  CHECK(window.split_rows == 0);
  CHECK(window.speedup_split == doctest::Approx(window.speedup));
  CHECK(critical_path_words(window).find("nothing to split") != std::string::npos);
}
