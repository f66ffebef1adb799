// pattern.hpp — a sparsity pattern as the user edits it: mask terms, causal on top, and a painted block grid.
// Pattern A is the experiment's own mask (UiState's editor: Explore's control panel and the Sparsity mode edit it);
// the Sparsity mode holds a second pattern B. No ImGui: built into the models library.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/mask.hpp"

namespace attnscope::gui {

// A pattern held elsewhere (A: UiState's mask editor and draft.causal; B: SparsityViewState::b).
struct PatternRef {
  std::vector<MaskTerm>& terms;
  bool& causal;
  BlockGrid& grid;
};
struct PatternModel {
  std::vector<MaskTerm> terms;
  bool causal = false;
  BlockGrid grid;
  PatternRef ref() { return {terms, causal, grid}; }
};

// The mask text of terms + grid (causal excluded: it is a separate flag of the experiment).
std::string pattern_text(const PatternRef& p);
// The same for headings: a painted grid named (MaskSpec::short_name), not spelled out.
std::string pattern_label(const PatternRef& p);
// The MaskSpec of the pattern with causal on top.
MaskSpec pattern_mask(const PatternRef& p);
bool has_grid_term(const PatternRef& p);
// Adds a grid term (all cells off) covering n tokens when there is none; returns true when it added one.
bool ensure_grid_term(PatternRef p, int64_t n, int64_t block);

// ---- the painted grid (MaskSpec's BlockGrid: the `grid:B:ROWS` term) ----
// Smallest block that keeps the grid at most kMaxGridSide cells per side for n tokens.
constexpr int64_t kMaxGridSide = 128;
int64_t min_grid_block(int64_t n);
// Grid of ceil(n / block) cells per side; existing cells keep their (row, col), new ones are off.
void resize_grid(BlockGrid& grid, int64_t n);
// A new block size: the picture is resampled (each new cell takes the old cell holding its first token).
void set_grid_block(BlockGrid& grid, int64_t block, int64_t n);
bool paint_cell(BlockGrid& grid, int64_t row, int64_t col, bool on);  // true when the cell changed
// Every cell on the line from (row0, col0) to (row1, col1), both ends included (Bresenham: one cell per step along
// the longer axis, so a drag that moved several cells between two frames leaves no gap); cells outside the grid are
// skipped. True when any cell changed.
bool paint_line(BlockGrid& grid, int64_t row0, int64_t col0, int64_t row1, int64_t col1, bool on);
void fill_grid(BlockGrid& grid, bool on);
void invert_grid(BlockGrid& grid);
int64_t grid_cells_on(const BlockGrid& grid);

}  // namespace attnscope::gui
