// test_cpu_gemm.cpp — the blocked, threaded GEMM against the textbook triple loop: odd sizes that leave partial
// row, column and inner blocks, strided operands, accumulation, and thread-count independence.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/cpu_gemm.hpp"
#include "core/rng.hpp"

using namespace attnscope;

namespace {

std::vector<float> random_matrix(int64_t count, uint64_t stream) {
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(2 * unit_interval(hash3(0x6e33, stream, i)) - 1);
  return v;
}

// max |got − want| over max(1, max |want|): float sums of k terms carry about k·2⁻²⁴ relative error.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return worst / scale;
}

}  // namespace

TEST_CASE("cpu_gemm: odd sizes match the triple loop") {
  ThreadPool pool(3);
  // Sizes around the block edges (64 rows, 128 columns, 256 inner) and below the 4-row / 16-column register tile.
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {65, 129, 257}, {130, 17, 300}, {7, 300, 513}};
  for (const auto& sh : shapes) {
    const GemmShape s{sh[0], sh[1], sh[2]};
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    const auto a = random_matrix(s.m * s.k, 1), b = random_matrix(s.k * s.n, 2);
    std::vector<float> got(static_cast<size_t>(s.m * s.n), NAN), want(got.size());
    cpu_gemm(a.data(), b.data(), got.data(), s, pool);
    naive_gemm(a.data(), b.data(), want.data(), s);
    CHECK(relative_error(got, want) < 1e-5);
  }
}

TEST_CASE("cpu_gemm: strided operands and accumulation") {
  ThreadPool pool(2);
  // A 45 x 70 window of a 45 x 80 array, B 70 x 90 of a 70 x 100 array, C 45 x 90 inside 45 x 95.
  const GemmShape s{45, 90, 70, 80, 100, 95};
  const auto a = random_matrix(45 * 80, 3), b = random_matrix(70 * 100, 4);
  std::vector<float> c(45 * 95, 7.0f), want(45 * 95, 0.0f);
  naive_gemm(a.data(), b.data(), want.data(), s);
  for (int64_t i = 0; i < 45; ++i)
    for (int64_t j = 0; j < 95; ++j) want[static_cast<size_t>(i * 95 + j)] += 7.0f;  // accumulated onto 7
  cpu_gemm(a.data(), b.data(), c.data(), s, pool, /*accumulate=*/true);
  CHECK(relative_error(c, want) < 1e-5);
  // The padding columns 90..94 of C are untouched: 7 + 0.
  for (int64_t i = 0; i < 45; ++i) CHECK(c[static_cast<size_t>(i * 95 + 92)] == doctest::Approx(7.0f));
}

TEST_CASE("cpu_gemm: the same bits whatever the thread count") {
  const GemmShape s{100, 150, 600};
  const auto a = random_matrix(s.m * s.k, 5), b = random_matrix(s.k * s.n, 6);
  std::vector<float> one(static_cast<size_t>(s.m * s.n)), four(one.size());
  ThreadPool p1(1), p4(4);
  cpu_gemm(a.data(), b.data(), one.data(), s, p1);
  cpu_gemm(a.data(), b.data(), four.data(), s, p4);
  CHECK(one == four);
  CHECK(gemm_flops(100, 150, 600) == doctest::Approx(1.8e7));
}
