// kernel_test_util.hpp — helpers for the kernel tests: fresh random inputs, a multithreaded double-precision
// reference (checked against core's reference_attention in the suite), and output comparison with per-dtype
// tolerances.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/backend.hpp"
#include "core/reference.hpp"
#include "kernels/cuda_backend.hpp"

namespace attnscope::test {

// ATTNSCOPE_KERNEL_TEST_MAX_N caps N for the compute-sanitizer runs of scripts/gpu-check.sh (the tools slow
// kernels 10-100x); the plain suite runs every size.
inline int64_t max_n() {
  const char* cap = std::getenv("ATTNSCOPE_KERNEL_TEST_MAX_N");
  return cap ? std::atoll(cap) : INT64_MAX;
}

// Fresh inputs every run (never zeros); the seed is printed on failure for reproduction.
inline uint64_t fresh_seed() {
  static std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

// ‖out − ref‖₂ / ‖ref‖₂ and max |out − ref| bounds per storage type. fp32: cuBLAS fp32 GEMMs and the fp32 kernel
// round at ~1e-7 per operation; fp16 (11-bit mantissa) and bf16 (8-bit) storage round Q, K, V, S, P and O.
struct Tolerance { double relative, absolute; };
inline Tolerance tolerance_for(DType t) {
  switch (t) {
    case DType::F32: return {2e-5, 2e-4};
    case DType::F16: return {6e-3, 3e-2};
    case DType::BF16: return {3e-2, 1.5e-1};
  }
  return {0, 0};
}

struct Reference {
  std::vector<double> output;
  int64_t fully_masked_rows = 0;
};

// O in double, one thread per block of (batch, head, row) work; same definition as core/reference.hpp.
inline Reference reference_threaded(const AttentionInputs& in) {
  const AttentionSpec& s = in.spec;
  Reference ref;
  ref.output.assign(static_cast<size_t>(s.q_elements()), 0.0);
  const MaskView mask = s.mask.view();
  const int64_t rows = s.batch * s.q_heads * s.q_len, d = s.head_dim;
  const double scale = s.softmax_scale();
  const int threads = std::max(1u, std::min(32u, std::thread::hardware_concurrency()));
  std::vector<int64_t> masked(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<double> p(static_cast<size_t>(s.kv_len));
      for (int64_t r = t; r < rows; r += threads) {
        const int64_t i = r % s.q_len, h = (r / s.q_len) % s.q_heads, b = r / (s.q_len * s.q_heads);
        const float* q = in.q_row(b, h, i);
        const int64_t kvh = s.kv_head_of(h);
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < s.kv_len; ++j) {
          if (!s.allowed(mask, i, j)) { p[j] = -std::numeric_limits<double>::infinity(); continue; }
          const float* k = in.k_row(b, kvh, j);
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += double{q[c]} * k[c];
          p[j] = dot * scale;
          m = std::max(m, p[j]);
        }
        double* o = &ref.output[static_cast<size_t>(r * d)];
        if (m == -std::numeric_limits<double>::infinity()) { ++masked[t]; continue; }
        double l = 0;
        for (int64_t j = 0; j < s.kv_len; ++j) l += p[j] = std::exp(p[j] - m);
        for (int64_t j = 0; j < s.kv_len; ++j) {
          if (p[j] == 0) continue;
          const float* v = in.v_row(b, kvh, j);
          for (int64_t c = 0; c < d; ++c) o[c] += p[j] / l * v[c];
        }
      }
    });
  for (auto& th : pool) th.join();
  for (auto m : masked) ref.fully_masked_rows += m;
  return ref;
}

struct Comparison {
  size_t size = 0, nan_count = 0;
  double relative = 0, max_abs = 0;
  double rms_error = 0, rms_reference = 0;  // root mean square of the error and of the reference, finite elements
};
inline Comparison compare(const std::vector<float>& out, const std::vector<double>& ref) {
  Comparison c;
  c.size = out.size();
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < std::min(out.size(), ref.size()); ++i) {
    if (!std::isfinite(out[i])) { ++c.nan_count; continue; }
    const double e = out[i] - ref[i];
    diff2 += e * e;
    ref2 += ref[i] * ref[i];
    c.max_abs = std::max(c.max_abs, std::fabs(e));
  }
  c.relative = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  const size_t finite = std::min(out.size(), ref.size()) - c.nan_count;
  if (finite > 0) {
    c.rms_error = std::sqrt(diff2 / static_cast<double>(finite));
    c.rms_reference = std::sqrt(ref2 / static_cast<double>(finite));
  }
  return c;
}

// Every element written (the backend poisons O with NaN before the launch) and within the dtype's tolerance.
inline void check_output(const RunResult& r, const Reference& ref, DType dtype) {
  REQUIRE_MESSAGE(r.ok, r.error);
  const Comparison c = compare(r.output, ref.output);
  const Tolerance tol = tolerance_for(dtype);
  INFO("relative L2 error " << c.relative << " (tolerance " << tol.relative << "), max abs " << c.max_abs
                            << " (tolerance " << tol.absolute << ")");
  CHECK(c.size == ref.output.size());
  CHECK(c.nan_count == 0);
  CHECK(c.relative <= tol.relative);
  CHECK(c.max_abs <= tol.absolute);
  CHECK(r.fully_masked_rows == ref.fully_masked_rows);
}

// One backend for the whole suite (creating cuBLAS handles per test would dominate the run time).
inline Backend& cuda() {
  static std::unique_ptr<Backend> backend = [] {
    std::string why;
    auto b = kernels::make_cuda_backend(&why);
    if (!b) FAIL("no CUDA backend: " << why);
    return b;
  }();
  return *backend;
}

// A CUDA backend with explicit options (tests of kernel variants), kept until the next call asks for others.
inline Backend& backend_with(const kernels::CudaBackendOptions& options) {
  static std::unique_ptr<Backend> backend;
  backend.reset();
  std::string why;
  backend = kernels::make_cuda_backend(&why, options);
  if (!backend) FAIL("no CUDA backend: " << why);
  return *backend;
}

inline RunResult run_on(Backend& backend, Algorithm algorithm, const AttentionInputs& in, bool trace = false,
                        std::vector<int32_t> probes = {}, TensorCorePath path = TensorCorePath::Auto) {
  RunRequest req;
  req.tensor_core_path = path;
  req.algorithm = algorithm;
  req.inputs = &in;
  req.warmup = 0;
  req.repetitions = 1;
  req.record_trace = trace;
  req.probe_rows = std::move(probes);
  return backend.run(req);
}

inline RunResult run(Algorithm algorithm, const AttentionInputs& in, bool trace = false,
                     std::vector<int32_t> probes = {}, TensorCorePath path = TensorCorePath::Auto) {
  return run_on(cuda(), algorithm, in, trace, std::move(probes), path);
}

inline AttentionSpec make_spec(int64_t batch, int64_t heads, int64_t kv_heads, int64_t n, int64_t d, DType dtype,
                               const std::string& mask = "dense") {
  AttentionSpec s;
  s.batch = batch;
  s.q_heads = heads;
  s.kv_heads = kv_heads;
  s.q_len = s.kv_len = n;
  s.head_dim = d;
  s.dtype = dtype;
  auto parsed = parse_mask(mask);
  REQUIRE_MESSAGE(parsed.ok, parsed.error);
  s.mask = parsed.mask;
  return s;
}

}  // namespace attnscope::test
