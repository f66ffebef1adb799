// test_online_softmax.cpp — the online update equals the full softmax·V in double precision for random rows
// and every tile size, including masked tiles, fully masked rows and the split-KV merge.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/online_softmax.hpp"
#include "core/rng.hpp"

using namespace attnscope;

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// softmax(s)·V the direct way; zeros when every score is -inf.
std::vector<double> full_softmax_v(const std::vector<double>& s, const std::vector<double>& v, int64_t d,
                                   double* max_out, double* sum_out) {
  double mx = kNegInf;
  for (double x : s) mx = std::max(mx, x);
  std::vector<double> out(static_cast<size_t>(d), 0.0);
  double sum = 0;
  if (mx != kNegInf)
    for (size_t j = 0; j < s.size(); ++j) sum += std::exp(s[j] - mx);
  if (mx != kNegInf)
    for (size_t j = 0; j < s.size(); ++j)
      for (int64_t c = 0; c < d; ++c) out[static_cast<size_t>(c)] += std::exp(s[j] - mx) / sum * v[j * d + c];
  *max_out = mx;
  *sum_out = sum;
  return out;
}
}  // namespace

TEST_CASE("online softmax equals the full softmax for random rows and any tile size") {
  Rng rng(2024);
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng.uniform() * 300);
    const int64_t d = 1 + static_cast<int64_t>(rng.uniform() * 9);
    const int64_t tile = 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(n + 5));
    const double masked_fraction = trial % 3 == 0 ? 0.0 : rng.uniform();
    const double spread = 1.0 + 30.0 * rng.uniform();  // large spreads make the rescale matter
    std::vector<double> s(static_cast<size_t>(n)), v(static_cast<size_t>(n * d));
    for (auto& x : s) x = rng.uniform() < masked_fraction ? kNegInf : spread * rng.normal();
    for (auto& x : v) x = rng.normal();
    double true_max = 0, true_sum = 0;
    const auto want = full_softmax_v(s, v, d, &true_max, &true_sum);

    OnlineSoftmaxRow<double> row(d);
    for (int64_t j0 = 0; j0 < n; j0 += tile) {
      const int64_t count = std::min(tile, n - j0);
      std::vector<double> scores(s.begin() + j0, s.begin() + j0 + count);
      const double m_before = row.m;
      const double rescale = row.update(scores.data(), count, [&](int64_t j) { return v.data() + (j0 + j) * d; });
      CHECK(rescale <= 1.0);
      if (m_before != kNegInf) CHECK(rescale == doctest::Approx(std::exp(m_before - row.m)).epsilon(1e-14));
    }
    std::vector<double> got(static_cast<size_t>(d));
    row.finish(got.data());
    INFO("trial ", trial, " n=", n, " d=", d, " tile=", tile);
    CHECK(row.m == true_max);
    if (true_max == kNegInf) {
      CHECK(row.fully_masked());
    } else {
      CHECK(row.l == doctest::Approx(true_sum).epsilon(1e-13));
    }
    for (int64_t c = 0; c < d; ++c)
      CHECK(std::fabs(got[static_cast<size_t>(c)] - want[static_cast<size_t>(c)]) <= 1e-12 * (1 + std::fabs(want[static_cast<size_t>(c)])));
  }
}

TEST_CASE("an all-masked tile leaves the state unchanged; an all-masked row ends as zeros") {
  OnlineSoftmaxRow<double> row(2);
  const double v[] = {1.0, 2.0, 3.0, 4.0};
  double masked[] = {kNegInf, kNegInf};
  CHECK(row.update(masked, 2, [&](int64_t j) { return v + 2 * j; }) == 1.0);
  CHECK(row.fully_masked());
  double out[2] = {std::nan(""), std::nan("")};
  row.finish(out);
  CHECK(out[0] == 0.0);
  CHECK(out[1] == 0.0);
  double live[] = {0.5, kNegInf};
  row.update(live, 2, [&](int64_t j) { return v + 2 * j; });
  double masked_again[] = {kNegInf, kNegInf};
  const double m = row.m, l = row.l;
  CHECK(row.update(masked_again, 2, [&](int64_t j) { return v + 2 * j; }) == 1.0);
  CHECK(row.m == m);
  CHECK(row.l == l);
  row.finish(out);
  CHECK(out[0] == doctest::Approx(1.0));  // only key 0 counts: O = v_0
  CHECK(out[1] == doctest::Approx(2.0));
}

TEST_CASE("merging split states equals processing the whole row") {
  Rng rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t n = 2 + static_cast<int64_t>(rng.uniform() * 100), d = 3;
    const int64_t cut = 1 + static_cast<int64_t>(rng.uniform() * static_cast<double>(n - 1));
    std::vector<double> s(static_cast<size_t>(n)), v(static_cast<size_t>(n * d));
    for (auto& x : s) x = rng.uniform() < 0.3 ? kNegInf : 10 * rng.normal();
    for (auto& x : v) x = rng.normal();
    double mx, sum;
    const auto want = full_softmax_v(s, v, d, &mx, &sum);
    OnlineSoftmaxRow<double> a(d), b(d);
    std::vector<double> sa(s.begin(), s.begin() + cut), sb(s.begin() + cut, s.end());
    a.update(sa.data(), cut, [&](int64_t j) { return v.data() + j * d; });
    b.update(sb.data(), n - cut, [&](int64_t j) { return v.data() + (cut + j) * d; });
    merge_online_softmax(a.m, a.l, a.acc.data(), b.m, b.l, b.acc.data(), d);
    std::vector<double> got(static_cast<size_t>(d));
    a.finish(got.data());
    for (int64_t c = 0; c < d; ++c) CHECK(got[static_cast<size_t>(c)] == doctest::Approx(want[static_cast<size_t>(c)]).epsilon(1e-12));
  }
}

TEST_CASE("the vectorised exp of the float twins is within a few ulps of std::exp and maps -inf to 0") {
  Rng rng(5);
  std::vector<float> x(1003), want(x.size());
  for (int trial = 0; trial < 20; ++trial) {
    const float shift = static_cast<float>(10 * rng.normal());
    for (size_t j = 0; j < x.size(); ++j) {
      x[j] = static_cast<float>(shift + 40 * rng.normal());
      if (j % 17 == 0) x[j] = -std::numeric_limits<float>::infinity();
      const double v = static_cast<double>(x[j]) - shift;
      want[j] = static_cast<float>(v < -87.3 ? 0.0 : std::exp(std::min(v, 88.3)));
    }
    std::vector<float> got = x;
    exp_shifted(got.data(), static_cast<int64_t>(got.size()), shift);
    for (size_t j = 0; j < x.size(); ++j) {
      INFO("x=", x[j], " shift=", shift);
      if (j % 17 == 0) CHECK(got[j] == 0.0f);
      // x - shift is rounded to float first (as the twins compute it), hence the relative 2e-6 + |v|·ulp.
      const double v = static_cast<double>(x[j]) - shift;
      const double tol = 2e-6 + 1.2e-7 * std::fabs(v);
      CHECK(std::fabs(got[j] - want[j]) <= tol * std::max(want[j], 1e-30f));
    }
  }
}
