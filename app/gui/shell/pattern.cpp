// pattern.cpp — patterns as terms + causal + painted grid, and the grid's operations.
#include "app/gui/shell/pattern.hpp"

#include <algorithm>
#include <cstdlib>

namespace attnscope::gui {

std::string pattern_text(const PatternRef& p) {
  MaskSpec m;
  m.terms = p.terms;
  m.grid = p.grid;
  return m.to_string();
}

std::string pattern_label(const PatternRef& p) {
  MaskSpec m;
  m.terms = p.terms;
  m.grid = p.grid;
  return m.short_name();
}

MaskSpec pattern_mask(const PatternRef& p) {
  MaskSpec m;
  m.terms = p.terms;
  m.grid = p.grid;
  m.causal = p.causal;
  return m;
}

bool has_grid_term(const PatternRef& p) {
  return std::any_of(p.terms.begin(), p.terms.end(), [](const MaskTerm& t) { return t.kind == MaskTermKind::BlockGrid; });
}

bool ensure_grid_term(PatternRef p, int64_t n, int64_t block) {
  if (has_grid_term(p)) return false;
  if (static_cast<int>(p.terms.size()) >= kMaxMaskTerms) return false;
  p.grid = {};
  p.grid.block = std::max(block, min_grid_block(n));
  resize_grid(p.grid, n);
  MaskTerm t;
  t.kind = MaskTermKind::BlockGrid;
  t.a = p.grid.block;
  p.terms.push_back(t);
  return true;
}

int64_t min_grid_block(int64_t n) { return std::max<int64_t>(1, (n + kMaxGridSide - 1) / kMaxGridSide); }

void resize_grid(BlockGrid& grid, int64_t n) {
  grid.block = std::max(grid.block, min_grid_block(n));
  const int64_t side = (std::max<int64_t>(n, 1) + grid.block - 1) / grid.block;
  if (grid.rows == side && grid.cols == side && static_cast<int64_t>(grid.cells.size()) == side * side) return;
  std::vector<uint8_t> cells(static_cast<size_t>(side * side), 0);
  for (int64_t r = 0; r < std::min(side, grid.rows); ++r)
    for (int64_t c = 0; c < std::min(side, grid.cols); ++c)
      if (static_cast<size_t>(r * grid.cols + c) < grid.cells.size())
        cells[static_cast<size_t>(r * side + c)] = grid.cells[static_cast<size_t>(r * grid.cols + c)];
  grid.rows = grid.cols = side;
  grid.cells = std::move(cells);
}

void set_grid_block(BlockGrid& grid, int64_t block, int64_t n) {
  block = std::max(block, min_grid_block(n));
  if (block == grid.block && !grid.empty()) { resize_grid(grid, n); return; }
  BlockGrid old = grid;
  grid.block = block;
  const int64_t side = (std::max<int64_t>(n, 1) + block - 1) / block;
  grid.rows = grid.cols = side;
  grid.cells.assign(static_cast<size_t>(side * side), 0);
  if (old.empty() || old.block < 1) return;
  for (int64_t r = 0; r < side; ++r)
    for (int64_t c = 0; c < side; ++c) {
      const int64_t orow = r * block / old.block, ocol = c * block / old.block;
      if (orow < old.rows && ocol < old.cols)
        grid.cells[static_cast<size_t>(r * side + c)] = old.cells[static_cast<size_t>(orow * old.cols + ocol)];
    }
}

bool paint_cell(BlockGrid& grid, int64_t row, int64_t col, bool on) {
  if (row < 0 || col < 0 || row >= grid.rows || col >= grid.cols) return false;
  uint8_t& cell = grid.cells[static_cast<size_t>(row * grid.cols + col)];
  if ((cell != 0) == on) return false;
  cell = on ? 1 : 0;
  return true;
}

bool paint_line(BlockGrid& grid, int64_t row0, int64_t col0, int64_t row1, int64_t col1, bool on) {
  const int64_t d_col = std::abs(col1 - col0), d_row = -std::abs(row1 - row0);
  const int64_t step_col = col0 < col1 ? 1 : -1, step_row = row0 < row1 ? 1 : -1;
  int64_t error = d_col + d_row;  // error of the next cell against the true line, times the doubled step
  bool changed = false;
  for (int64_t row = row0, col = col0;;) {
    changed |= paint_cell(grid, row, col, on);
    if (row == row1 && col == col1) break;
    const int64_t twice = 2 * error;
    if (twice >= d_row) { error += d_row; col += step_col; }
    if (twice <= d_col) { error += d_col; row += step_row; }
  }
  return changed;
}

void fill_grid(BlockGrid& grid, bool on) { std::fill(grid.cells.begin(), grid.cells.end(), on ? 1 : 0); }

void invert_grid(BlockGrid& grid) {
  for (auto& c : grid.cells) c = c ? 0 : 1;
}

int64_t grid_cells_on(const BlockGrid& grid) {
  return std::count_if(grid.cells.begin(), grid.cells.end(), [](uint8_t c) { return c != 0; });
}

}  // namespace attnscope::gui
