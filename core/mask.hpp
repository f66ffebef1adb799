// mask.hpp — which (query, key) pairs attention may use: every sparsity pattern of the lessons.
//
// Contents
//   MaskTerm / MaskTermKind   one pattern with its parameters
//   MaskSpec                  a union of terms, optionally with causal applied on top, plus a painted grid
//   MaskView                  a plain, copyable form with one allowed(q, k) shared by CPU and GPU
//   parse_mask / to_string    the CLI text form, e.g. "window:256+global:16+causal"
//
// Positions: q is the query's absolute position in the sequence (row index + kv_len - q_len, so the
// last query of a decode step sits at the end of the cache) and k is the key's index.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_device.hpp"
#include "core/rng.hpp"

namespace attnscope {

enum class MaskTermKind : int32_t {
  Dense,      // every pair
  Window,     // q - left <= k <= q + right
  Strided,    // k mod stride == 0 (the "summary" columns), or |q - k| <= band
  Dilated,    // |q - k| <= width and (q - k) mod dilation == 0
  Random,     // cell (q / block, k / block) kept with probability density, by a seeded hash
  Global,     // q < count or k < count: the first tokens see and are seen by all
  BlockGrid,  // a user-painted grid of block x block cells (MaskSpec::grid)
};

struct MaskTerm {
  MaskTermKind kind = MaskTermKind::Dense;
  int64_t a = 0;          // Window: left; Strided: stride; Dilated: width; Global: count; BlockGrid: block
  int64_t b = 0;          // Window: right; Strided: band; Dilated: dilation; Random: block
  double density = 0.0;   // Random only
  uint64_t seed = 0;      // Random only
};

// A painted block grid: rows x cols cells of block x block elements; cells beyond it are masked.
struct BlockGrid {
  int64_t block = 64;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> cells;  // row-major, 1 = allowed
  bool empty() const { return rows == 0 || cols == 0; }
};

constexpr int kMaxMaskTerms = 8;
// MaskSpec::view() clamps term parameters to ±2^40 (sequences are far shorter), so position arithmetic never
// overflows int64.
constexpr int64_t kMaxMaskExtent = int64_t{1} << 40;

// The evaluable form: trivially copyable, so it can be passed to a kernel by value.
struct MaskView {
  int32_t term_count = 0;  // 0 terms = dense
  bool causal = false;
  MaskTerm terms[kMaxMaskTerms];
  int64_t grid_block = 1, grid_rows = 0, grid_cols = 0;
  const uint8_t* grid_cells = nullptr;  // host or device pointer, matching where allowed() runs

  ATTN_HD bool term_allows(const MaskTerm& t, int64_t q, int64_t k) const {
    const int64_t diff = q - k;
    const int64_t dist = diff < 0 ? -diff : diff;
    switch (t.kind) {
      case MaskTermKind::Dense: return true;
      case MaskTermKind::Window: return k >= q - t.a && k <= q + t.b;
      case MaskTermKind::Strided: return k % t.a == 0 || dist <= t.b;
      case MaskTermKind::Dilated: return dist <= t.a && diff % t.b == 0;
      case MaskTermKind::Random:
        return unit_interval(hash3(t.seed, static_cast<uint64_t>(q / t.b), static_cast<uint64_t>(k / t.b))) <
               t.density;
      case MaskTermKind::Global: return q < t.a || k < t.a;
      case MaskTermKind::BlockGrid: {
        const int64_t r = q / grid_block, c = k / grid_block;
        return grid_cells != nullptr && r < grid_rows && c < grid_cols && grid_cells[r * grid_cols + c] != 0;
      }
    }
    return false;
  }

  // The pattern: the union of the terms, then causal (k <= q) on top.
  ATTN_HD bool allowed(int64_t q, int64_t k) const {
    if (causal && k > q) return false;
    if (term_count == 0) return true;
    for (int32_t i = 0; i < term_count; ++i)
      if (term_allows(terms[i], q, k)) return true;
    return false;
  }
};

struct MaskSpec {
  std::vector<MaskTerm> terms;  // empty = dense
  bool causal = false;
  BlockGrid grid;               // used by a BlockGrid term

  // Every problem in words ("window left -3: must be >= 0"); empty when valid.
  std::vector<std::string> validate() const;
  // Canonical text form; parse_mask(to_string()) gives back an equal spec.
  std::string to_string() const;
  // The same for headings and tables: a painted grid is named, not spelled out cell by cell
  // ("window:64+painted 64 × 64 grid, 9% of blocks"); files and configs keep to_string().
  std::string short_name() const;
  // View for evaluation on the host; the grid pointer refers to this spec's storage.
  MaskView view() const;
  bool is_dense() const;

 private:
  std::string text_form(bool name_the_grid) const;
};

struct MaskParseResult {
  bool ok = false;
  MaskSpec mask;
  std::string error;         // names the bad term and what is wrong with it
  size_t error_offset = 0;   // character offset of the bad term in the input
};

// Text form: terms joined by '+'. Each term is name[:arg,arg,...]; args are positional or key=value.
//   dense | causal | window:W | window:L,R | strided:S[,B] | dilated:W,S | random:D[,seed[,block]]
//   global:G | grid:B:ROWS  (ROWS = rows of 0/1 separated by '/', e.g. grid:64:110/011/001)
MaskParseResult parse_mask(std::string_view text);

// One line per pattern for --help and tooltips.
const char* mask_syntax_help();

}  // namespace attnscope
