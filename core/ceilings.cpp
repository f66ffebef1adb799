// ceilings.cpp — the CPU's measured ceilings (see ceilings.hpp).
#include "core/ceilings.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "core/tile_kernels.hpp"

namespace attnscope {
namespace {

template <class F>
double fastest_seconds(int repetitions, F&& body) {
  body();  // warm-up: first touch of the pages, caches, thread wake-up
  std::vector<double> samples;
  for (int r = 0; r < std::max(1, repetitions); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return *std::min_element(samples.begin(), samples.end());
}

// C is computed in 64 x 64 blocks, one task each, the way the twins compute P·V: for every 64-wide slice of the
// inner dimension, B's 64 x 64 block is packed contiguously and acc += A_slice · B_block runs in the twins'
// register-blocked tile kernel (tile_pv), so the operands of the inner loop stay in L1.
constexpr int64_t kBlock = 64;

}  // namespace

void blocked_matmul(const float* a, const float* b, float* c, int64_t n, ThreadPool& pool) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  struct Scratch { std::vector<float> packed, acc; };
  std::vector<Scratch> scratch(static_cast<size_t>(pool.size()));
  pool.parallel_for(blocks * blocks, [&](int64_t task, int worker) {
    Scratch& w = scratch[static_cast<size_t>(worker)];
    w.packed.resize(kBlock * kBlock);
    const int64_t i0 = task / blocks * kBlock, j0 = task % blocks * kBlock;
    const int64_t rows = std::min(kBlock, n - i0), cols = std::min(kBlock, n - j0);
    w.acc.assign(static_cast<size_t>(rows * cols), 0.0f);
    for (int64_t k0 = 0; k0 < n; k0 += kBlock) {
      const int64_t inner = std::min(kBlock, n - k0);
      for (int64_t k = 0; k < inner; ++k)
        std::memcpy(w.packed.data() + k * cols, b + (k0 + k) * n + j0, static_cast<size_t>(cols) * sizeof(float));
      // acc[r][c] += Σ_k A[i0 + r][k0 + k] · packed[k][c]
      tile_pv(a + i0 * n + k0, rows, n, w.packed.data(), inner, cols, w.acc.data());
    }
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(c + (i0 + r) * n + j0, w.acc.data() + r * cols, static_cast<size_t>(cols) * sizeof(float));
  });
}

DeviceCeilings measure_cpu_ceilings(ThreadPool& pool, const CpuCeilingsConfig& config) {
  DeviceCeilings out;
  const auto start = std::chrono::steady_clock::now();
  const int threads = pool.size();
  try {
    // ---- bandwidth: each thread copies its own contiguous slice (bytes read + written)
    const size_t bytes = static_cast<size_t>(config.copy_bytes);
    std::vector<unsigned char> src(bytes), dst(bytes);
    for (size_t i = 0; i < bytes; i += 4096) src[i] = static_cast<unsigned char>(i >> 12);
    const int64_t slices = threads;
    const double copy_s = fastest_seconds(config.repetitions, [&] {
      pool.parallel_for(slices, [&](int64_t s, int) {
        const size_t b0 = bytes * static_cast<size_t>(s) / static_cast<size_t>(slices);
        const size_t b1 = bytes * static_cast<size_t>(s + 1) / static_cast<size_t>(slices);
        std::memcpy(dst.data() + b0, src.data() + b0, b1 - b0);
      });
    });
    if (std::memcmp(src.data(), dst.data(), bytes) != 0) {
      out.error = "the memcpy benchmark copied wrong bytes";
      return out;
    }
    out.copy_bytes = bytes;
    out.copy_bytes_per_s = 2.0 * static_cast<double>(bytes) / copy_s;

    // ---- compute: C = A·B, n×n, 2·n³ FLOPs
    const int64_t n = config.gemm_n;
    const size_t nn = static_cast<size_t>(n * n);
    std::vector<float> a(nn), b(nn), c(nn, std::nanf(""));
    Rng rng(20240611);
    for (auto& x : a) x = static_cast<float>(rng.normal());
    for (auto& x : b) x = static_cast<float>(rng.normal());
    const double gemm_s = fastest_seconds(config.repetitions, [&] { blocked_matmul(a.data(), b.data(), c.data(), n, pool); });
    // Sampled entries against a double dot product (float accumulation over n terms: relative error ~ √n·ε).
    for (int s = 0; s < 64; ++s) {
      const int64_t i = (s * 7919) % n, j = (s * 104729 + 13) % n;
      double ref = 0, mag = 0;
      for (int64_t k = 0; k < n; ++k) {
        ref += static_cast<double>(a[static_cast<size_t>(i * n + k)]) * b[static_cast<size_t>(k * n + j)];
        mag += std::fabs(static_cast<double>(a[static_cast<size_t>(i * n + k)]) * b[static_cast<size_t>(k * n + j)]);
      }
      const double got = c[static_cast<size_t>(i * n + j)];
      if (!(std::fabs(got - ref) <= 1e-5 * mag + 1e-6)) {
        out.error = "the matmul benchmark computed a wrong product at (" + std::to_string(i) + ", " +
                    std::to_string(j) + ")";
        return out;
      }
    }
    out.gemm_n = n;
    out.gemm_flops_per_s = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / gemm_s;
    out.gemm_what = "blocked float matmul " + std::to_string(n) + "³ (" + std::to_string(threads) + " threads)";
  } catch (const std::bad_alloc&) {
    out.error = "not enough memory for the ceiling benchmark (" +
                format_bytes(2.0 * static_cast<double>(config.copy_bytes)) + " of buffers)";
    return out;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.ok = true;
  return out;
}

}  // namespace attnscope
