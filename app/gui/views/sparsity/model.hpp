// model.hpp — the Sparsity mode's state and model: two patterns (A is the experiment's own mask,
// shared with Explore; B is a second pattern to compare), the painted block grid operations, and what the
// worker computes for a pattern (densities from the block mask, cost-model prediction, measured runs).
//
// Contents
//   (patterns as terms + causal + painted grid, and the grid operations: app/gui/shell/pattern.hpp, shared with
//   Explore's mask editor)
//   PatternNumbers                densities, predicted and measured speed-up, the mask picture
//   compute_pattern_numbers       the worker's computation (tested directly)
//   SparsityViewState             what UiState holds
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "app/gui/gl/colormap.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "core/backend.hpp"
#include "core/block_mask.hpp"
#include "core/cost_model.hpp"
#include "core/mask.hpp"
#include "app/gui/shell/pattern.hpp"

namespace attnscope::gui {

struct ViewContext;

// ---- what the worker computes for one pattern ----
struct PatternRequest {
  AttentionSpec spec;          // validated, with the pattern's mask
  TileConfig tiles;
  bool measure = true;         // also run dense flash and block-sparse (and gathered) through the backend
  int repetitions = 5;
  int picture_cells = 96;      // the mask picture's cells per side, at most
  uint64_t seed = 1;
};

struct MeasuredRun {
  bool ok = false;
  std::string error;
  Timing timing;
};

struct PatternNumbers {
  std::string key;                  // what it was computed for (pattern, shape, tiles)
  bool ok = false;
  std::string error;
  bool cancelled = false;
  BlockMask block_mask;             // kinds per tile and stats (allowed pairs counted exactly)
  PatternStats pattern;
  AlgorithmCost flash, block_sparse, gathered;
  bool gathered_relevant = false;   // strided / dilated terms: their allowed keys touch every tile
  // The mask picture: allowed fraction per cell, rows x cols cells over the whole matrix.
  std::vector<float> picture;
  int picture_rows = 0, picture_cols = 0;
  // Measured (median of repetitions) on the backend that ran them.
  bool measured = false;
  std::string backend, device;
  MeasuredRun flash_run, sparse_run, gathered_run;

  double element_density() const { return block_mask.stats.element_density(); }
  double block_density() const { return block_mask.stats.tile_density(); }
  double predicted_flops_speedup() const { return block_sparse.flops > 0 ? flash.flops / block_sparse.flops : 0; }
  double predicted_bytes_speedup() const {
    return block_sparse.hbm_bytes > 0 ? flash.hbm_bytes / block_sparse.hbm_bytes : 0;
  }
  double measured_speedup() const {
    return flash_run.ok && sparse_run.ok && sparse_run.timing.median_ms > 0
               ? flash_run.timing.median_ms / sparse_run.timing.median_ms : 0;
  }
  // Straggler-aware prediction (see straggler_prediction), on the units of the backend that measured.
  struct Stragglers {
    int units = 0;                  // SMs or worker threads running CTAs at once
    int64_t ctas = 0;               // (batch, head, Q tile) tasks
    int64_t busiest_row_tiles = 0;  // K/V tiles the busiest Q-tile row visits (block-sparse)
    double mean_row_tiles = 0;      // the mean over Q-tile rows
    int64_t tiles_per_dense_row = 0;
    double speedup = 0;             // dense makespan / block-sparse makespan
    // The same with long rows split (core/visit_schedule.hpp's rule): the busiest CTA is then a piece.
    int64_t median_row_tiles = 0;   // median over the rows that visit anything (the rule's M)
    int64_t busiest_cta_split = 0;  // the longest CTA after splitting (= busiest_row_tiles when nothing is cut)
    int64_t ctas_split = 0;
    int64_t split_rows = 0;         // Q-tile rows cut into pieces
    double speedup_split = 0;
    bool measured_split = false;    // the measured block-sparse run split its lists (the backend's default)
    // The prediction for the way the measured run ran.
    double speedup_as_measured() const { return measured_split ? speedup_split : speedup; }
    int64_t busiest_cta_as_measured() const { return measured_split ? busiest_cta_split : busiest_row_tiles; }
  } stragglers;
  // Why measured and predicted disagree (by more than kSpeedupGapTolerance), from the numbers above; empty when they
  // agree or nothing was measured.
  std::vector<std::string> gap_reasons;
  double measured_gathered_speedup() const {
    return flash_run.ok && gathered_run.ok && gathered_run.timing.median_ms > 0
               ? flash_run.timing.median_ms / gathered_run.timing.median_ms : 0;
  }
};

// ---- mask pictures (the grid panel's background and the A/B thumbnails) ----
// A picture cell whose pairs are `share` allowed: mix(masked grey, the colour map's top entry, share), so a pooled
// cell is as bright as the mask is dense there (shade = share allowed; a cell with one allowed pair stays grey).
Rgba8 mask_share_color(double share, const std::vector<Rgba8>& colormap);
// A thumbnail's cell: its share colour with its tile's tint (block_overlay_color) drawn over it, blended as the
// renderer blends: tint·alpha + base·(1 − alpha).
Rgba8 thumbnail_color(double share, TileKind kind, const std::vector<Rgba8>& colormap);
// The thumbnails' legend swatch of a tile kind: the thumbnail colour of a cell of that kind, at share 0 (empty),
// 1/2 (partial: some of its pairs) or 1 (full).
Rgba8 legend_swatch_color(TileKind kind, const std::vector<Rgba8>& colormap);
// What one cell of a mask picture is: "1 cell = 42.7 × 42.7 pairs; shade = share allowed".
std::string mask_picture_caption(int64_t n_q, int64_t n_k, int rows, int cols);

// Measured and predicted speed-ups disagree when their ratio is outside [1/(1+t), 1+t].
inline constexpr double kSpeedupGapTolerance = 0.25;
// Time follows the busiest unit: the (batch, head, Q tile) tasks, each costing the K/V tiles it visits (a partial tile,
// masked per element, costs as much as a full one), handed in order to whichever of `units` is free first (as a
// thread pool or the GPU's CTA scheduler does). The result's speedup is the dense makespan (every task tc tiles) over
// the block-sparse one; with fewer tasks than units it is tc / the busiest row's tiles. The split variant hands out
// the work items of plan_visit_split (longest first, as the kernels order them) instead of whole rows; the merge of
// the pieces is not counted (it reads Br·(D + 2) floats per piece, little beside one tile visit).
PatternNumbers::Stragglers straggler_prediction(const BlockMask& mask, int64_t batch_heads, int units);
// "busiest CTA: 65 tiles, median 5; with splitting: 8" — the critical path in words.
std::string critical_path_words(const PatternNumbers::Stragglers& st);
// The reasons (sentences with the numbers) for a gap between n.measured_speedup() and n.predicted_flops_speedup().
std::vector<std::string> speedup_gap_reasons(const PatternNumbers& n, double dense_ms);

// The worker channels of patterns A and B.
inline constexpr TaskChannel<PatternNumbers> kPatternChannels[2] = {{"sparsity-A", "Sparsity"}, {"sparsity-B", "Sparsity"}};

// progress(fraction, status) is called between steps; cancelled() is polled between steps.
PatternNumbers compute_pattern_numbers(Backend& backend, const PatternRequest& request,
                                       const std::function<void(double, const std::string&)>& progress,
                                       const std::function<bool()>& cancelled);
std::string pattern_key(const AttentionSpec& spec, const TileConfig& tiles, bool measure);

// Which pattern the editor and the grid act on: A (the experiment's mask) or B (the one compared with it). The value
// indexes SparsityViewState's per-pattern arrays.
enum class PatternSlot { A = 0, B = 1 };

struct SparsityViewState {
  PatternModel b;                  // pattern B; A is the experiment's mask (UiState::terms/grid, draft.causal)
  bool b_initialised = false;
  PatternSlot editing = PatternSlot::A;
  int br = 64, bc = 64;            // tiles of the block mask and the block-sparse kernel
  bool measure = true;
  int repetitions = 5;
  std::optional<PatternNumbers> numbers[2];
  std::string asked_key[2];        // submitted, not yet arrived
  std::string error[2];            // why a pattern cannot be computed (invalid spec)
  double changed_at = -1e9;        // ImGui time of the last edit: the worker starts when edits rest
  std::string texture_key[2];      // what the pattern pictures' textures were made from
  std::string blocks_texture_key[2];
  std::string grid_texture_key;
  int paint_value = -1;            // while dragging: 1 paints, 0 erases; -1 not painting
  int64_t paint_row = 0, paint_col = 0;  // while dragging: the grid cell under the pointer last frame
};

}  // namespace attnscope::gui
