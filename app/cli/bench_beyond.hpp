// bench_beyond.hpp — `attnscope bench --algo linear-attention,selective-scan` (issue 20, "Speed"): times the two
// beyond-attention kernels through Backend::run_linear_attention / run_selective_scan over a grid of N and prints the
// two speed targets as measured ratios:
//   selective scan     bytes it must move / median time, as a fraction of the copy bandwidth the backend measures
//                      in the same run (Backend::measure_ceilings); target ≥ 70% at the longest N that ran
//   linear attention   chunked causal linear attention against our own flash kernel on the same shape (flash-tc
//                      where the backend has tensor cores, else flash): both times, the speed-up and the crossover
//                      N; target: linear faster at N = 16384
// The attention algorithms stay in cmd_bench.cpp; a call may not mix the two kinds.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace attnscope::app {

// "linear-attention" or "selective-scan": the --algo names this file runs.
bool is_beyond_bench_algorithm(const std::string& name);

// `attnscope bench` with only beyond-attention --algo values: parses its own flags (argv after "bench"), prints
// the table and the targets' verdicts, writes --json. 0 every row ran; 1 a row failed, the backend is not
// available or --json was not written; 2 usage error.
int run_beyond_bench(const std::vector<std::string>& argv);

// One N of the linear-attention comparison; a time ≤ 0 means that side did not run at this N.
struct CrossoverPoint {
  int64_t n = 0;
  double linear_ms = 0, baseline_ms = 0;
};

// Where linear attention becomes faster than the baseline and stays so up to the largest N measured.
struct Crossover {
  enum class Kind {
    Between,       // slower at the list point before, not slower at the one after: n interpolated between them
    Exact,         // equal time at a list point right after a slower one: n is that point
    BelowRange,    // not slower already at the smallest N measured: the crossover lies below the list
    NoneInRange,   // slower at the largest N measured (or nothing to compare)
  };
  Kind kind = Kind::NoneInRange;
  double n = 0;  // Between and Exact; BelowRange: the smallest N measured
  // "N ≈ 5793 (between 4096 and 8192)", "N = 4096", "below N = 1024 (faster at every N)", "none in range"
  std::string words() const;
  int64_t below = 0, above = 0;  // Between: the list points that bracket n
};

// The crossover over `points` (any order; points where either time is missing are skipped). With
// g(N) = ln(linear_ms / baseline_ms) (> 0: linear slower), the crossover is the last sign change from g > 0 to
// g ≤ 0, provided g ≤ 0 from there to the largest N; between list points N₀ < N₁ with g₀ > 0 ≥ g₁ it is
// interpolated linearly in log N:  ln N = ln N₀ + g₀ / (g₀ − g₁) · (ln N₁ − ln N₀).
// Pure (header-only, so the command-line tests check it without a backend).
inline Crossover find_crossover(std::vector<CrossoverPoint> points) {
  std::erase_if(points, [](const CrossoverPoint& p) { return !(p.linear_ms > 0 && p.baseline_ms > 0 && p.n > 0); });
  std::sort(points.begin(), points.end(), [](const CrossoverPoint& a, const CrossoverPoint& b) { return a.n < b.n; });
  Crossover c;
  if (points.empty()) return c;
  auto g = [&](size_t i) { return std::log(points[i].linear_ms / points[i].baseline_ms); };
  // The first index of the run of not-slower points that reaches the largest N.
  size_t first_fast = points.size();
  while (first_fast > 0 && g(first_fast - 1) <= 0) --first_fast;
  if (first_fast == points.size()) return c;  // slower at the largest N
  if (first_fast == 0) {
    c.kind = Crossover::Kind::BelowRange;
    c.n = static_cast<double>(points.front().n);
    return c;
  }
  const double g0 = g(first_fast - 1), g1 = g(first_fast);
  const double ln0 = std::log(static_cast<double>(points[first_fast - 1].n));
  const double ln1 = std::log(static_cast<double>(points[first_fast].n));
  if (g1 == 0) {
    c.kind = Crossover::Kind::Exact;
    c.n = static_cast<double>(points[first_fast].n);
    return c;
  }
  c.kind = Crossover::Kind::Between;
  c.n = std::exp(ln0 + g0 / (g0 - g1) * (ln1 - ln0));
  c.below = points[first_fast - 1].n;
  c.above = points[first_fast].n;
  return c;
}

inline std::string Crossover::words() const {
  char buf[160];
  switch (kind) {
    case Kind::Between:
      std::snprintf(buf, sizeof buf, "N ~ %.0f (between %lld and %lld)", n, static_cast<long long>(below),
                    static_cast<long long>(above));
      return buf;
    case Kind::Exact: std::snprintf(buf, sizeof buf, "N = %.0f", n); return buf;
    case Kind::BelowRange:
      std::snprintf(buf, sizeof buf, "below N = %.0f (linear faster at every N measured)", n);
      return buf;
    case Kind::NoneInRange: break;
  }
  return "none in range";
}

// A fraction printed as a percentage with one decimal, rounded toward zero, so a miss (0.69996) never prints as
// the target it missed ("69.9%", not "70.0%").
inline std::string percent_toward_zero(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%%", std::trunc(fraction * 1000.0) / 10.0);
  return buf;
}

}  // namespace attnscope::app
