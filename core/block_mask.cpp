// block_mask.cpp — exact tile classification: from each term's structure where possible, else by scanning.
#include "core/block_mask.hpp"

#include <algorithm>
#include <limits>

#include "core/allowed_pairs.hpp"

namespace attnscope {

const char* tile_kind_name(TileKind kind) {
  switch (kind) {
    case TileKind::Empty: return "empty";
    case TileKind::Partial: return "partial";
    case TileKind::Full: return "full";
  }
  return "?";
}

namespace {

// What a term's structure says about a region. Partial is exact (some pairs allowed, some not);
// Unknown means the structure alone cannot decide and the caller must scan.
enum class Known { Empty, Partial, Full, Unknown };

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Region {
  int64_t q0, q1, k0, k1;  // [q0, q1) x [k0, k1), non-empty
  // Every value of diff = q - k in [dmin, dmax] occurs in a rectangle.
  int64_t dmin() const { return q0 - (k1 - 1); }
  int64_t dmax() const { return (q1 - 1) - k0; }
  int64_t min_abs() const { return dmin() <= 0 && dmax() >= 0 ? 0 : std::min(std::abs(dmin()), std::abs(dmax())); }
  int64_t max_abs() const { return std::max(std::abs(dmin()), std::abs(dmax())); }
};

// Cells of a block x block grid covering the region; kept(r, c) says whether a cell is allowed.
template <class Kept>
Known classify_cells(const Region& g, int64_t block, Kept kept) {
  bool any = false, all = true;
  for (int64_t r = g.q0 / block; r <= (g.q1 - 1) / block; ++r)
    for (int64_t c = g.k0 / block; c <= (g.k1 - 1) / block; ++c) {
      if (kept(r, c)) any = true; else all = false;
      if (any && !all) return Known::Partial;
    }
  return all ? Known::Full : Known::Empty;
}

Known classify_term(const MaskView& mask, const MaskTerm& t, const Region& g) {
  const int64_t dmin = g.dmin(), dmax = g.dmax();
  switch (t.kind) {
    case MaskTermKind::Dense: return Known::Full;
    case MaskTermKind::Window:  // -right <= q - k <= left
      if (dmin >= -t.b && dmax <= t.a) return Known::Full;
      if (dmax < -t.b || dmin > t.a) return Known::Empty;
      return Known::Partial;
    case MaskTermKind::Strided: {  // k mod stride == 0, or |q - k| <= band
      const int64_t first_column = (g.k0 + t.a - 1) / t.a * t.a;
      const bool has_column = first_column < g.k1;
      const bool all_columns = t.a == 1 || (g.k1 - g.k0 == 1 && g.k0 % t.a == 0);
      if (all_columns || g.max_abs() <= t.b) return Known::Full;
      if (!has_column) return g.min_abs() > t.b ? Known::Empty : Known::Partial;
      if (g.min_abs() > t.b) return Known::Partial;  // only the stride columns, and not every key is one
      return Known::Unknown;
    }
    case MaskTermKind::Dilated: {  // |q - k| <= width and (q - k) mod dilation == 0
      const int64_t lo = std::max(dmin, -t.a), hi = std::min(dmax, t.a);
      if (lo > hi || floor_div(hi, t.b) * t.b < lo) return Known::Empty;
      const bool all = (dmin == dmax) || (t.b == 1 && dmin >= -t.a && dmax <= t.a);
      return all ? Known::Full : Known::Partial;
    }
    case MaskTermKind::Random:
      return classify_cells(g, t.b, [&](int64_t r, int64_t c) {
        return unit_interval(hash3(t.seed, static_cast<uint64_t>(r), static_cast<uint64_t>(c))) < t.density;
      });
    case MaskTermKind::Global:  // q < count or k < count
      if (g.q1 - 1 < t.a || g.k1 - 1 < t.a) return Known::Full;
      if (g.q0 >= t.a && g.k0 >= t.a) return Known::Empty;
      return Known::Partial;
    case MaskTermKind::BlockGrid:
      return classify_cells(g, mask.grid_block, [&](int64_t r, int64_t c) {
        return mask.grid_cells != nullptr && r < mask.grid_rows && c < mask.grid_cols &&
               mask.grid_cells[r * mask.grid_cols + c] != 0;
      });
  }
  return Known::Unknown;
}

TileKind scan_region(const MaskView& mask, const Region& g) {
  bool any = false, all = true;
  for (int64_t q = g.q0; q < g.q1; ++q)
    for (int64_t k = g.k0; k < g.k1; ++k) {
      if (mask.allowed(q, k)) any = true; else all = false;
      if (any && !all) return TileKind::Partial;
    }
  return all ? TileKind::Full : TileKind::Empty;
}

}  // namespace

TileKind classify_region(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1) {
  if (q1 <= q0 || k1 <= k0) return TileKind::Empty;
  const Region g{q0, q1, k0, k1};
  // The union of the terms.
  Known terms = Known::Full;
  if (mask.term_count > 0) {
    int nonempty = 0;
    Known only = Known::Empty;
    bool any_full = false;
    for (int32_t i = 0; i < mask.term_count && !any_full; ++i) {
      const Known k = classify_term(mask, mask.terms[i], g);
      if (k == Known::Full) any_full = true;
      if (k != Known::Empty) { ++nonempty; only = k; }
    }
    if (any_full) terms = Known::Full;
    else if (nonempty == 0) terms = Known::Empty;
    else if (nonempty == 1 && only == Known::Partial) terms = Known::Partial;
    else terms = Known::Unknown;  // several partial terms may together cover the region
  }
  if (terms == Known::Empty) return TileKind::Empty;
  // Causal on top: k <= q, i.e. diff >= 0.
  Known causal = Known::Full;
  if (mask.causal) causal = g.dmin() >= 0 ? Known::Full : (g.dmax() < 0 ? Known::Empty : Known::Partial);
  if (causal == Known::Empty) return TileKind::Empty;
  if (causal == Known::Full && terms != Known::Unknown) return terms == Known::Full ? TileKind::Full : TileKind::Partial;
  if (causal == Known::Partial && terms == Known::Full) return TileKind::Partial;
  return scan_region(mask, g);
}

void mask_row(const MaskView& mask, int64_t q, int64_t k0, int64_t k1, uint8_t* allowed) {
  const int64_t n = k1 - k0;
  if (n <= 0) return;
  // Sets allowed[k - k0] = 1 for k in [lo, hi] ∩ [k0, k1).
  auto fill_interval = [&](int64_t lo, int64_t hi) {
    lo = std::max(lo, k0);
    hi = std::min(hi, k1 - 1);
    for (int64_t k = lo; k <= hi; ++k) allowed[k - k0] = 1;
  };
  // Every step-th key from the first k >= k0 with k ≡ residue (mod step), up to hi.
  auto fill_progression = [&](int64_t first_candidate, int64_t step, int64_t residue, int64_t hi) {
    int64_t k = first_candidate + ((residue - first_candidate) % step + step) % step;
    for (hi = std::min(hi, k1 - 1); k <= hi; k += step) allowed[k - k0] = 1;
  };
  std::fill_n(allowed, n, uint8_t{0});
  if (mask.term_count == 0) {
    std::fill_n(allowed, n, uint8_t{1});
  } else {
    for (int32_t t = 0; t < mask.term_count; ++t) {
      const MaskTerm& term = mask.terms[t];
      switch (term.kind) {
        case MaskTermKind::Dense: fill_interval(k0, k1 - 1); break;
        case MaskTermKind::Window: fill_interval(q - term.a, q + term.b); break;
        case MaskTermKind::Strided:
          fill_progression(k0, term.a, 0, k1 - 1);
          fill_interval(q - term.b, q + term.b);
          break;
        case MaskTermKind::Dilated: {  // k = q - t·dilation with |q - k| <= width
          const int64_t lo = std::max(k0, q - term.a);
          if (lo <= q + term.a) fill_progression(lo, term.b, ((q % term.b) + term.b) % term.b, q + term.a);
          break;
        }
        case MaskTermKind::Random:
        case MaskTermKind::BlockGrid: {
          // Constant over cells of `block` keys: evaluate once per cell.
          const int64_t block = term.kind == MaskTermKind::Random ? term.b : mask.grid_block;
          for (int64_t c0 = k0; c0 < k1;) {
            const int64_t c1 = std::min(k1, (c0 / block + 1) * block);
            if (mask.term_allows(term, q, c0)) std::fill(allowed + (c0 - k0), allowed + (c1 - k0), uint8_t{1});
            c0 = c1;
          }
          break;
        }
        case MaskTermKind::Global:
          if (q < term.a) fill_interval(k0, k1 - 1);
          else fill_interval(0, term.a - 1);
          break;
      }
    }
  }
  if (mask.causal && q + 1 < k1) std::fill(allowed + std::max<int64_t>(0, q + 1 - k0), allowed + n, uint8_t{0});
}

int64_t count_allowed(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1) {
  switch (classify_region(mask, q0, q1, k0, k1)) {
    case TileKind::Empty: return 0;
    case TileKind::Full: return (q1 - q0) * (k1 - k0);
    case TileKind::Partial: break;
  }
  // Row by row from the terms' structure (core/allowed_pairs.hpp); random cells all evaluated: exact.
  const AllowedPairs counted =
      count_allowed_in_region(mask, q0, q1, k0, k1, std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(counted.pairs);
}

double BlockMaskStats::tile_density() const {
  const int64_t all = empty + partial + full;
  return all > 0 ? static_cast<double>(partial + full) / static_cast<double>(all) : 0.0;
}
double BlockMaskStats::element_density() const {
  return total_pairs > 0 && allowed_pairs >= 0 ? static_cast<double>(allowed_pairs) / static_cast<double>(total_pairs)
                                               : 0.0;
}
double BlockMaskStats::visited_density() const {
  return total_pairs > 0 ? static_cast<double>(visited_pairs) / static_cast<double>(total_pairs) : 0.0;
}

std::vector<int32_t> BlockMask::nonempty_tiles(int64_t q_tile) const {
  std::vector<int32_t> out;
  for (int64_t j = 0; j < tiles.tc; ++j)
    if (at(q_tile, j) != TileKind::Empty) out.push_back(static_cast<int32_t>(j));
  return out;
}

BlockMask build_block_mask(const AttentionSpec& spec, int br, int bc, bool count_pairs) {
  BlockMask bm;
  bm.tiles = TileSchedule(spec.q_len, spec.kv_len, br, bc);
  bm.kinds.resize(static_cast<size_t>(bm.tiles.tile_count()));
  const MaskView mask = spec.mask.view();
  const int64_t offset = spec.kv_len - spec.q_len;  // query row -> absolute position
  bm.stats.total_pairs = spec.q_len * spec.kv_len;
  bm.stats.allowed_pairs = count_pairs ? 0 : -1;
  for (int64_t i = 0; i < bm.tiles.tr; ++i)
    for (int64_t j = 0; j < bm.tiles.tc; ++j) {
      const int64_t q0 = bm.tiles.row_begin(i) + offset, q1 = bm.tiles.row_end(i) + offset;
      const int64_t k0 = bm.tiles.col_begin(j), k1 = bm.tiles.col_end(j);
      const TileKind kind = classify_region(mask, q0, q1, k0, k1);
      bm.kinds[static_cast<size_t>(i * bm.tiles.tc + j)] = kind;
      const int64_t area = (q1 - q0) * (k1 - k0);
      switch (kind) {
        case TileKind::Empty: ++bm.stats.empty; break;
        case TileKind::Partial:
          ++bm.stats.partial;
          bm.stats.visited_pairs += area;
          if (count_pairs) bm.stats.allowed_pairs += count_allowed(mask, q0, q1, k0, k1);
          break;
        case TileKind::Full:
          ++bm.stats.full;
          bm.stats.visited_pairs += area;
          if (count_pairs) bm.stats.allowed_pairs += area;
          break;
      }
    }
  return bm;
}

GatheredMask build_gathered_mask(const AttentionSpec& spec, int br) {
  GatheredMask gm;
  gm.tiles = TileSchedule(spec.q_len, spec.kv_len, br, br);
  gm.keys.resize(static_cast<size_t>(gm.tiles.tr));
  const MaskView mask = spec.mask.view();
  const int64_t offset = spec.kv_len - spec.q_len;
  for (int64_t i = 0; i < gm.tiles.tr; ++i) {
    const int64_t q0 = gm.tiles.row_begin(i) + offset, q1 = gm.tiles.row_end(i) + offset;
    auto& keys = gm.keys[static_cast<size_t>(i)];
    // Each key is a one-column region: its kind is decided by the terms' structure almost always.
    for (int64_t k = 0; k < spec.kv_len; ++k)
      if (classify_region(mask, q0, q1, k, k + 1) != TileKind::Empty) keys.push_back(static_cast<int32_t>(k));
    gm.gathered_pairs += (q1 - q0) * static_cast<int64_t>(keys.size());
  }
  return gm;
}

int64_t count_allowed_pairs(const AttentionSpec& spec) {
  return static_cast<int64_t>(count_allowed_pattern(spec, std::numeric_limits<int64_t>::max()).pairs);
}

}  // namespace attnscope
