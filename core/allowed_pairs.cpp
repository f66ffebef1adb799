// allowed_pairs.cpp — see allowed_pairs.hpp for the method.
#include "core/allowed_pairs.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "core/rng.hpp"

namespace attnscope {
namespace {

__extension__ typedef __int128 i128;  // CRT products of two periods need 2^102

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t positive_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

struct Interval {
  int64_t lo, hi;  // inclusive
};

// {k in [lo, hi] : k ≡ residue (mod modulus)}; a modulus of 0 means the single point `residue`.
struct Progression {
  int64_t residue = 0, modulus = 1, lo = 0, hi = -1;
  int sign = 1;  // inclusion–exclusion sign of an intersection
};

// Intersections whose period passes this are beyond every key (keys < 2^42): kept as one point.
constexpr i128 kLargestPeriod = i128{1} << 62;

i128 gcd128(i128 a, i128 b) {
  while (b != 0) {
    const i128 t = a % b;
    a = b;
    b = t;
  }
  return a < 0 ? -a : a;
}

// x with a·x ≡ 1 (mod m), a and m coprime (extended Euclid).
i128 inverse_mod(i128 a, i128 m) {
  i128 old_r = a % m, r = m, old_s = 1, s = 0;
  if (old_r < 0) old_r += m;
  while (r != 0) {
    const i128 q = old_r / r;
    i128 t = old_r - q * r;
    old_r = r;
    r = t;
    t = old_s - q * s;
    old_s = s;
    s = t;
  }
  i128 x = old_s % m;
  return x < 0 ? x + m : x;
}

// The intersection of two progressions (Chinese remainder theorem); false when it is empty.
bool intersect(const Progression& a, const Progression& b, Progression& out) {
  out.lo = std::max(a.lo, b.lo);
  out.hi = std::min(a.hi, b.hi);
  if (out.lo > out.hi) return false;
  out.sign = -a.sign;
  if (a.modulus == 0 || b.modulus == 0) {  // a point: it must lie on the other progression
    const Progression& point = a.modulus == 0 ? a : b;
    const Progression& other = a.modulus == 0 ? b : a;
    if (other.modulus != 0 && positive_mod(point.residue - other.residue, other.modulus) != 0) return false;
    if (other.modulus == 0 && point.residue != other.residue) return false;
    out.residue = point.residue;
    out.modulus = 0;
    return out.residue >= out.lo && out.residue <= out.hi;
  }
  const i128 m1 = a.modulus, m2 = b.modulus, g = gcd128(m1, m2);
  const i128 diff = i128{b.residue} - a.residue;
  if (diff % g != 0) return false;
  const i128 step = m2 / g, period = m1 / g * m2;
  const i128 t = (diff / g % step + step) % step * inverse_mod(m1 / g % step, step) % step;
  i128 x = (i128{a.residue} + m1 * t) % period;
  if (x < 0) x += period;
  if (period > kLargestPeriod) {
    if (x > out.hi) return false;  // the one solution below the period lies beyond every key
    out.residue = static_cast<int64_t>(x);
    out.modulus = 0;
    return out.residue >= out.lo;
  }
  out.residue = static_cast<int64_t>(x);
  out.modulus = static_cast<int64_t>(period);
  return true;
}

// |{k in [lo, hi] ∩ [p.lo, p.hi] : k on p}|.
int64_t count_on(const Progression& p, int64_t lo, int64_t hi) {
  lo = std::max(lo, p.lo);
  hi = std::min(hi, p.hi);
  if (lo > hi) return 0;
  if (p.modulus == 0) return p.residue >= lo && p.residue <= hi ? 1 : 0;
  return floor_div(hi - p.residue, p.modulus) - floor_div(lo - 1 - p.residue, p.modulus);
}

// P(unit_interval(hash) < density) for a hash uniform over 64 bits: unit_interval takes the top 53 bits.
double keep_probability(double density) {
  if (!(density > 0)) return 0.0;
  if (density >= 1) return 1.0;
  return std::ceil(std::ldexp(density, 53)) * 0x1.0p-53;
}

// Counts one row at a time; holds the per-row-block runs of grid and random cells.
class RowCounter {
 public:
  RowCounter(const MaskView& mask, int64_t k0, int64_t k1, bool random_exact)
      : mask_(mask), k0_(k0), k1_(k1), random_exact_(random_exact) {
    // Random terms with one seed and block keep the same cells: the largest density decides.
    std::map<std::pair<uint64_t, int64_t>, double> groups;
    for (int32_t i = 0; i < mask.term_count; ++i) {
      const MaskTerm& t = mask.terms[i];
      if (t.kind != MaskTermKind::Random) continue;
      double& p = groups[{t.seed, t.b}];
      p = std::max(p, keep_probability(t.density));
    }
    double none_kept = 1.0;
    for (auto& [key, p] : groups) none_kept *= 1.0 - p;
    random_probability_ = 1.0 - none_kept;
    cached_cell_row_.assign(static_cast<size_t>(std::max(mask.term_count, 0)), -1);
    cached_runs_.resize(cached_cell_row_.size());
  }

  bool has_random() const {
    for (int32_t i = 0; i < mask_.term_count; ++i)
      if (mask_.terms[i].kind == MaskTermKind::Random) return true;
    return false;
  }

  // Exact allowed keys of row q, plus (when random terms are estimated) the expected kept keys among the rest.
  void count_row(int64_t q, int64_t& exact, double& expected) {
    const int64_t lo = k0_, hi = mask_.causal ? std::min(k1_ - 1, q) : k1_ - 1;
    if (hi < lo) return;
    const int64_t width = hi - lo + 1;
    if (mask_.term_count == 0) { exact += width; return; }
    intervals_.clear();
    progressions_.clear();
    bool estimated_random = false;
    for (int32_t i = 0; i < mask_.term_count; ++i) {
      const MaskTerm& t = mask_.terms[i];
      switch (t.kind) {
        case MaskTermKind::Dense: exact += width; return;
        case MaskTermKind::Window: intervals_.push_back({q - t.a, q + t.b}); break;
        case MaskTermKind::Strided:
          progressions_.push_back({0, t.a, lo, hi, 1});
          intervals_.push_back({q - t.b, q + t.b});
          break;
        case MaskTermKind::Dilated:
          progressions_.push_back({positive_mod(q, t.b), t.b, std::max(lo, q - t.a), std::min(hi, q + t.a), 1});
          break;
        case MaskTermKind::Global:
          if (q < t.a) { exact += width; return; }
          intervals_.push_back({0, t.a - 1});
          break;
        case MaskTermKind::BlockGrid:
        case MaskTermKind::Random:
          if (t.kind == MaskTermKind::Random && !random_exact_) { estimated_random = true; break; }
          for (const Interval& run : cell_runs(i, q)) intervals_.push_back(run);
          break;
      }
    }
    const int64_t allowed = union_count(lo, hi);
    exact += allowed;
    if (estimated_random) expected += random_probability_ * static_cast<double>(width - allowed);
  }

 private:
  // The runs of allowed cells that row q crosses, as key intervals; recomputed when q enters another cell row.
  const std::vector<Interval>& cell_runs(int32_t term_index, int64_t q) {
    const MaskTerm& t = mask_.terms[term_index];
    const int64_t block = t.kind == MaskTermKind::Random ? t.b : mask_.grid_block;
    const int64_t cell_row = q / block;
    auto& runs = cached_runs_[static_cast<size_t>(term_index)];
    if (cached_cell_row_[static_cast<size_t>(term_index)] == cell_row) return runs;
    cached_cell_row_[static_cast<size_t>(term_index)] = cell_row;
    runs.clear();
    int64_t last_cell = (k1_ - 1) / block;
    if (t.kind == MaskTermKind::BlockGrid) {
      if (mask_.grid_cells == nullptr || cell_row >= mask_.grid_rows) return runs;
      last_cell = std::min(last_cell, mask_.grid_cols - 1);
    }
    for (int64_t c = k0_ / block; c <= last_cell; ++c) {
      const bool kept = t.kind == MaskTermKind::Random
                            ? unit_interval(hash3(t.seed, static_cast<uint64_t>(cell_row), static_cast<uint64_t>(c))) <
                                  t.density
                            : mask_.grid_cells[cell_row * mask_.grid_cols + c] != 0;
      if (!kept) continue;
      if (!runs.empty() && runs.back().hi + 1 == c * block) runs.back().hi = c * block + block - 1;
      else runs.push_back({c * block, c * block + block - 1});
    }
    return runs;
  }

  // |∪ intervals ∪ progressions| within [lo, hi].
  int64_t union_count(int64_t lo, int64_t hi) {
    std::sort(intervals_.begin(), intervals_.end(), [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
    // Inclusion–exclusion terms of the progressions: every non-empty intersection with its sign.
    terms_.clear();
    for (const Progression& p : progressions_) {
      if (p.lo > p.hi) continue;
      const size_t before = terms_.size();
      for (size_t j = 0; j < before; ++j) {
        Progression both;
        if (intersect(terms_[j], p, both)) terms_.push_back(both);
      }
      terms_.push_back(p);
    }
    int64_t total = 0;
    auto count_gap = [&](int64_t a, int64_t b) {  // progressions' keys in the gap [a, b] between intervals
      if (a > b) return;
      for (const Progression& p : terms_) total += p.sign * count_on(p, a, b);
    };
    int64_t next = lo;  // first key not yet accounted for
    for (const Interval& in : intervals_) {
      const int64_t a = std::max(in.lo, next), b = std::min(in.hi, hi);
      if (a > b) continue;
      count_gap(next, a - 1);
      total += b - a + 1;
      next = b + 1;
    }
    count_gap(next, hi);
    return total;
  }

  const MaskView& mask_;
  int64_t k0_, k1_;
  bool random_exact_;
  double random_probability_ = 0;
  std::vector<Interval> intervals_;
  std::vector<Progression> progressions_, terms_;
  std::vector<int64_t> cached_cell_row_;
  std::vector<std::vector<Interval>> cached_runs_;
};

}  // namespace

AllowedPairs count_allowed_in_region(const MaskView& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1,
                                     int64_t exact_budget) {
  AllowedPairs result;
  if (q1 <= q0 || k1 <= k0) return result;
  // Hash evaluations an exact count of the random terms needs: rows x cells per row, per term.
  double random_work = 0;
  for (int32_t i = 0; i < mask.term_count; ++i)
    if (mask.terms[i].kind == MaskTermKind::Random)
      random_work += static_cast<double>(q1 - q0) * static_cast<double>((k1 - k0) / mask.terms[i].b + 2);
  RowCounter counter(mask, k0, k1, random_work <= static_cast<double>(exact_budget));
  result.exact = random_work <= static_cast<double>(exact_budget) || !counter.has_random();
  int64_t exact = 0;
  double expected = 0;
  for (int64_t q = q0; q < q1; ++q) counter.count_row(q, exact, expected);
  result.pairs = static_cast<double>(exact) + expected;
  return result;
}

AllowedPairs count_allowed_pattern(const AttentionSpec& spec, int64_t exact_budget) {
  const MaskView view = spec.mask.view();
  const int64_t offset = spec.kv_len - spec.q_len;
  return count_allowed_in_region(view, offset, offset + spec.q_len, 0, spec.kv_len, exact_budget);
}

}  // namespace attnscope
