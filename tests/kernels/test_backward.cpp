// test_backward.cpp — the CUDA backward kernels (kernels/backward_cuda.hpp: naive and FlashAttention-2 fp32) against
// core's float64 reference_backward and the CPU twins naive_backward / flash_backward on fresh random inputs:
// N ∈ {1, 17, 1000, 4097}, head dims 32/64/128, causal and a block-sparse mask with fully masked rows, GQA 4:1 and
// MQA, q_len < kv_len; naive also with fp16 and bf16 storage. The entry poisons dQ, dK and dV with NaN before the launches, so every element must come back
// written (finite). Out of device memory at every allocation through the fault-injection hook; the planned
// out-of-memory answer; unsupported specs answered in words; timing of both passes.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/backward.hpp"
#include "core/cpu_backend.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "kernel_test_util.hpp"
#include "kernels/backward_cuda.hpp"
#include "kernels/fault_injection.hpp"

namespace attnscope::test {
namespace {

ThreadPool& pool() {
  static ThreadPool threads(0);
  return threads;
}

// dO: standard normal, fresh per test (the seed is printed with the inputs').
std::vector<float> random_d_out(size_t n, uint64_t seed) {
  Rng rng(seed ^ 0x9d0u);
  std::vector<float> g(n);
  for (auto& x : g) x = static_cast<float>(rng.normal());
  return g;
}

// A painted 5 x 5 block grid scaled to N: its middle row of blocks allows no key, so those query rows are fully
// masked (from N = 3 on); the blocks do not line up with the 64 x 64 tiles, so the block mask has empty, partial
// and full tiles.
std::string block_sparse_mask(int64_t n) {
  const int64_t block = std::max<int64_t>(1, (n + 4) / 5);
  return "grid:" + std::to_string(block) + ":10000/01100/00000/00110/10011";
}

// Bounds on the relative L2 error and on the largest error against the largest gradient. fp32 (all arithmetic in
// float): the bound core's backward tests use for the float twins. fp16 (11-bit mantissa) and bf16 (8-bit) round
// the inputs and P, dP, dS, O and the gradients at storage (about 5e-4 and 4e-3 each), with dS = P ∘ (dP − D)
// amplifying dP's rounding where dP − D is small against dP.
struct GradientTolerance { double relative, max_share, max_floor; };
GradientTolerance gradient_tolerance(DType dtype) {
  switch (dtype) {
    case DType::F32: return {1e-4, 2e-4, 2e-5};
    case DType::F16: return {1.5e-2, 6e-2, 1e-3};
    case DType::BF16: return {6e-2, 2.4e-1, 4e-3};
  }
  return {0, 0, 0};
}

void check_gradient(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
                    DType dtype = DType::F32) {
  CAPTURE(what);
  REQUIRE(got.size() == want.size());
  const Comparison c = compare(got, want);
  const GradientTolerance tol = gradient_tolerance(dtype);
  double largest = 1e-6;
  for (double w : want) largest = std::max(largest, std::fabs(w));
  INFO("relative L2 error " << c.relative << " (RMS error " << c.rms_error << " against RMS gradient "
                             << c.rms_reference << "), max |error| " << c.max_abs << " against max |gradient| " << largest
                            << " (" << dtype_name(dtype) << ")");
  CHECK(c.nan_count == 0);  // NaN: an element no launch wrote (the entry poisons the gradients)
  // Relative L2 error, with the per-element floor under the reference's size: a gradient can cancel to zero (at
  // N = 1 the one key gets P = 1, so dS = dP − D = 0 and dQ = dK = 0 exactly), where any rounding of the uncancelled
  // terms is an infinite relative error.
  CHECK(c.rms_error <= tol.relative * c.rms_reference + tol.max_floor);
  CHECK(c.max_abs <= tol.max_share * largest + tol.max_floor);
}
void check_gradient(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
  check_gradient(what, got, std::vector<double>(want.begin(), want.end()));
}

kernels::CudaBackwardRun run_backward(const AttentionInputs& in, const std::vector<float>& d_out, Algorithm a) {
  return kernels::run_backward_cuda(in, d_out, a);
}

// One spec: both CUDA algorithms against the reference (when given) and against their CPU twins (when asked).
void check_spec(const AttentionSpec& spec, bool with_reference, bool with_naive_twin) {
  const uint64_t seed = fresh_seed();
  INFO("spec " << spec.summary() << " seed " << seed);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
  const std::vector<float> d_out = random_d_out(in.q.size(), seed);
  BackwardReference ref;
  if (with_reference) ref = reference_backward(in, d_out);
  const ForwardWithLse forward = flash_forward_for_backward(in, pool());

  {
    INFO("naive backward (CUDA)");
    const auto r = run_backward(in, d_out, Algorithm::Naive);
    REQUIRE_MESSAGE(r.gradients.ok, r.gradients.error);
    CHECK(r.lse.empty());
    if (with_reference) {
      check_gradient("forward O", r.output, ref.output);
      check_gradient("dQ vs reference", r.gradients.dq, ref.dq);
      check_gradient("dK vs reference", r.gradients.dk, ref.dk);
      check_gradient("dV vs reference", r.gradients.dv, ref.dv);
    }
    if (with_naive_twin) {
      const BackwardResult twin = naive_backward(in, d_out, pool());
      REQUIRE_MESSAGE(twin.ok, twin.error);
      check_gradient("dQ vs naive twin", r.gradients.dq, twin.dq);
      check_gradient("dK vs naive twin", r.gradients.dk, twin.dk);
      check_gradient("dV vs naive twin", r.gradients.dv, twin.dv);
    }
  }
  {
    INFO("flash backward (CUDA)");
    const auto r = run_backward(in, d_out, Algorithm::Flash);
    REQUIRE_MESSAGE(r.gradients.ok, r.gradients.error);
    // The forward's lse (the flash fp32 kernel's new output): −inf exactly on the twin's fully masked rows.
    REQUIRE(r.lse.size() == forward.lse.size());
    int64_t lse_mismatches = 0, masked_rows = 0;
    for (size_t i = 0; i < r.lse.size(); ++i) {
      const float want = forward.lse[i], got = r.lse[i];
      if (std::isinf(want)) {
        ++masked_rows;
        if (!(std::isinf(got) && got < 0)) ++lse_mismatches;
      } else if (!(std::fabs(got - want) <= 1e-4f * std::max(1.0f, std::fabs(want)))) {
        ++lse_mismatches;
      }
    }
    INFO("fully masked rows " << masked_rows);
    CHECK(lse_mismatches == 0);
    check_gradient("forward O vs flash twin", r.output, forward.output);
    if (with_reference) {
      check_gradient("dQ vs reference", r.gradients.dq, ref.dq);
      check_gradient("dK vs reference", r.gradients.dk, ref.dk);
      check_gradient("dV vs reference", r.gradients.dv, ref.dv);
    }
    const BackwardResult twin = flash_backward(in, forward.output, forward.lse, d_out, TileConfig{64, 64}, pool());
    REQUIRE_MESSAGE(twin.ok, twin.error);
    check_gradient("dQ vs flash twin", r.gradients.dq, twin.dq);
    check_gradient("dK vs flash twin", r.gradients.dk, twin.dk);
    check_gradient("dV vs flash twin", r.gradients.dv, twin.dv);
  }
}

}  // namespace

TEST_CASE("backward (CUDA): naive and flash match reference_backward and the CPU twins over N x head dim, causal and block-sparse") {
  for (int64_t n : {1, 17, 1000, 4097}) {
    if (n > max_n()) {
      MESSAGE("N = " << n << " left out: ATTNSCOPE_KERNEL_TEST_MAX_N = " << max_n());
      continue;
    }
    for (int64_t d : {32, 64, 128}) {
      for (const std::string& mask : {std::string("causal"), block_sparse_mask(n)}) {
        CAPTURE(n);
        CAPTURE(d);
        CAPTURE(mask);
        // Short sequences: batch 2, GQA 4:1 (8 query heads on 2 KV heads). N = 1000: MQA, 4 query heads on one KV
        // head. N = 4097: 2 query heads on one KV head, so the single-threaded float64 reference (run at d = 32
        // only) and the naive twin (left out) stay affordable; the threaded flash twin checks every head dim.
        AttentionSpec spec = n <= 17    ? make_spec(2, 8, 2, n, d, DType::F32, mask)
                             : n <= 1000 ? make_spec(1, 4, 1, n, d, DType::F32, mask)
                                         : make_spec(1, 2, 1, n, d, DType::F32, mask);
        check_spec(spec, /*with_reference=*/n <= 1000 || d == 32, /*with_naive_twin=*/n <= 1000);
      }
    }
  }
}

TEST_CASE("backward (CUDA): MHA, GQA 4:1 and MQA; queries the last tokens (q_len < kv_len); dense, window, strided") {
  struct Heads { int64_t q, kv; };
  for (Heads heads : {Heads{4, 4}, Heads{8, 2}, Heads{4, 1}}) {
    for (const char* mask : {"dense", "window:48+global:3", "strided:64,8+causal"}) {
      AttentionSpec spec = make_spec(2, heads.q, heads.kv, 300, 64, DType::F32, mask);
      spec.q_len = 130;  // query row i sits at position i + 170
      CAPTURE(heads.q);
      CAPTURE(heads.kv);
      CAPTURE(std::string(mask));
      check_spec(spec, true, true);
    }
  }
  // Head dims that are not 32, 64 or 128: the flash kernel zero-pads its tiles to the next of those.
  for (int64_t d : {1, 40, 100}) {
    CAPTURE(d);
    check_spec(make_spec(1, 2, 1, 77, d, DType::F32, "causal"), true, true);
  }
}

TEST_CASE("backward (CUDA): naive with fp16 and bf16 storage matches the reference within the storage tolerance") {
  for (DType dtype : {DType::F16, DType::BF16}) {
    for (int64_t n : {17, 1000}) {
      if (n > max_n()) continue;
      for (const std::string& mask : {std::string("causal"), block_sparse_mask(n)}) {
        const AttentionSpec spec = make_spec(1, 4, 1, n, 64, dtype, mask);
        const uint64_t seed = fresh_seed();
        INFO(dtype_name(dtype) << " N " << n << " mask " << mask << " seed " << seed);
        const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
        const std::vector<float> d_out = random_d_out(in.q.size(), seed);
        const BackwardReference ref = reference_backward(in, d_out);
        const auto r = run_backward(in, d_out, Algorithm::Naive);
        REQUIRE_MESSAGE(r.gradients.ok, r.gradients.error);
        check_gradient("forward O", r.output, ref.output, dtype);
        check_gradient("dQ", r.gradients.dq, ref.dq, dtype);
        check_gradient("dK", r.gradients.dk, ref.dk, dtype);
        check_gradient("dV", r.gradients.dv, ref.dv, dtype);
        // The device plan counts 2-byte elements and the fp32 staging of uploads and downloads.
        const auto plan = kernels::plan_backward_memory(Algorithm::Naive, spec);
        CHECK(plan.saved_bytes == 4ull * n * n * 2);
        CHECK(plan.staging_bytes == static_cast<uint64_t>(spec.q_elements()) * 4);
      }
    }
  }
}

TEST_CASE("backward (CUDA): fully masked rows and never-seen keys get exact zeros, every other element is written") {
  // grid:64:1 allows only the first 64 x 64 block: query rows 64.. see no key, keys 64.. are seen by no query.
  const AttentionSpec spec = make_spec(2, 2, 1, 200, 32, DType::F32, "grid:64:1");
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
  const std::vector<float> d_out = random_d_out(in.q.size(), seed);
  for (Algorithm a : {Algorithm::Naive, Algorithm::Flash}) {
    INFO(algorithm_name(a));
    const auto r = run_backward(in, d_out, a);
    REQUIRE_MESSAGE(r.gradients.ok, r.gradients.error);
    int64_t nonzero_masked = 0, not_finite = 0, zero_seen = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < 200; ++i)
          for (int64_t x = 0; x < 32; ++x) {
            const float g = r.gradients.dq[static_cast<size_t>(((b * 2 + h) * 200 + i) * 32 + x)];
            if (!std::isfinite(g)) ++not_finite;
            else if (i >= 64 && g != 0.0f) ++nonzero_masked;
            else if (i < 64 && g == 0.0f) ++zero_seen;
          }
    for (const std::vector<float>* kv : {&r.gradients.dk, &r.gradients.dv})
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t j = 0; j < 200; ++j)
          for (int64_t x = 0; x < 32; ++x) {
            const float g = (*kv)[static_cast<size_t>((b * 200 + j) * 32 + x)];
            if (!std::isfinite(g)) ++not_finite;
            else if (j >= 64 && g != 0.0f) ++nonzero_masked;
            else if (j < 64 && g == 0.0f) ++zero_seen;
          }
    CHECK(not_finite == 0);
    CHECK(nonzero_masked == 0);
    CHECK(zero_seen == 0);  // Gaussian inputs: an exact zero among the seen rows and keys is a missed write
  }
}

TEST_CASE("backward (CUDA): unsupported requests are answered in words") {
  const auto check_refused = [](const AttentionInputs& in, const std::vector<float>& d_out, Algorithm a,
                                const std::string& words) {
    const auto r = run_backward(in, d_out, a);
    CHECK_FALSE(r.gradients.ok);
    CHECK_FALSE(r.out_of_memory);
    CHECK_MESSAGE(r.gradients.error.find(words) != std::string::npos, r.gradients.error);
    CHECK(r.gradients.dq.empty());
  };
  const AttentionInputs wide = generate_inputs(make_spec(1, 2, 1, 40, 160, DType::F32, "causal"), Generator::Gaussian, 3);
  const std::vector<float> wide_g = random_d_out(wide.q.size(), 3);
  check_refused(wide, wide_g, Algorithm::Flash, "head dim up to 128");
  // Naive runs it (cuBLAS has no tile to fit in shared memory).
  const auto naive = run_backward(wide, wide_g, Algorithm::Naive);
  REQUIRE_MESSAGE(naive.gradients.ok, naive.gradients.error);
  const BackwardReference ref = reference_backward(wide, wide_g);
  check_gradient("dQ d=160", naive.gradients.dq, ref.dq);
  check_gradient("dK d=160", naive.gradients.dk, ref.dk);
  check_gradient("dV d=160", naive.gradients.dv, ref.dv);

  const AttentionInputs half = generate_inputs(make_spec(1, 2, 1, 40, 64, DType::F16, "causal"), Generator::Gaussian, 4);
  check_refused(half, random_d_out(half.q.size(), 4), Algorithm::Flash, "fp32");
  const AttentionInputs ok = generate_inputs(make_spec(1, 2, 1, 40, 64, DType::F32, "causal"), Generator::Gaussian, 5);
  check_refused(ok, random_d_out(ok.q.size(), 5), Algorithm::BlockSparse, "naive and flash");
  check_refused(ok, std::vector<float>(7, 1.0f), Algorithm::Flash, "dO must have Q's shape");
  kernels::BackwardCudaOptions options;
  options.repetitions = 0;
  const auto r = kernels::run_backward_cuda(ok, random_d_out(ok.q.size(), 5), Algorithm::Naive, options);
  CHECK_FALSE(r.gradients.ok);
  CHECK(r.gradients.error.find("repetitions") != std::string::npos);
}

TEST_CASE("backward (CUDA): naive's saved P that cannot fit is an out-of-memory answer before any allocation") {
  // 64 heads x 65536² floats of P alone: 1 TiB. head_dim 1 keeps the inputs small.
  AttentionSpec spec = make_spec(1, 64, 1, 65536, 1, DType::F32, "causal");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 11);
  const std::vector<float> d_out = random_d_out(in.q.size(), 11);
  kernels::fail_device_allocation_at(0);
  const auto r = run_backward(in, d_out, Algorithm::Naive);
  CHECK_FALSE(r.gradients.ok);
  CHECK(r.out_of_memory);
  CHECK(r.bytes_needed > r.bytes_free);
  CHECK(r.bytes_needed == kernels::plan_backward_memory(Algorithm::Naive, spec).total());
  CHECK_MESSAGE(r.gradients.error.find("use flash") != std::string::npos, r.gradients.error);
  CHECK(kernels::device_allocations_counted() == 0);
  // Flash saves one float per row instead of a row of P: the plan is a few hundred MiB.
  const auto plan = kernels::plan_backward_memory(Algorithm::Flash, spec);
  CHECK(plan.saved_bytes == 64ull * 65536 * 4);
  CHECK(plan.total() < (uint64_t{1} << 30));
}

TEST_CASE("backward (CUDA): out of device memory at every allocation, nothing leaked, the next run unchanged") {
  const AttentionInputs single =
      generate_inputs(make_spec(1, 4, 1, 300, 64, DType::F32, block_sparse_mask(300)), Generator::Gaussian, 21);
  const std::vector<float> d_out = random_d_out(single.q.size(), 21);
  const AttentionInputs half =
      generate_inputs(make_spec(1, 4, 1, 300, 64, DType::F16, block_sparse_mask(300)), Generator::Gaussian, 22);
  struct Family { const char* name; Algorithm algorithm; const AttentionInputs* inputs; };
  for (const Family& f : {Family{"naive fp32", Algorithm::Naive, &single}, Family{"flash fp32", Algorithm::Flash, &single},
                          Family{"naive fp16 (staged uploads)", Algorithm::Naive, &half}}) {
    const std::string family = f.name;
    CAPTURE(family);
    const Algorithm a = f.algorithm;
    const AttentionInputs& in = *f.inputs;
    kernels::fail_device_allocation_at(0);
    const auto clean = run_backward(in, d_out, a);
    REQUIRE_MESSAGE(clean.gradients.ok, clean.gradients.error);
    const int64_t allocations = kernels::device_allocations_counted();
    REQUIRE(allocations > 0);
    const MemoryInfo before = cuda().memory();
    REQUIRE(before.known);
    for (int64_t k = 1; k <= allocations; ++k) {
      CAPTURE(k);
      kernels::fail_device_allocation_at(k);
      const auto failed = run_backward(in, d_out, a);
      CHECK_FALSE(failed.gradients.ok);
      CHECK(failed.out_of_memory);
      CHECK(failed.gradients.dq.empty());
      CHECK_MESSAGE(failed.gradients.error.find("out of device memory") != std::string::npos, failed.gradients.error);
      CHECK(failed.gradients.error.find("injected") != std::string::npos);
      CHECK(kernels::device_allocations_counted() == k);  // it stopped at the failed allocation
    }
    kernels::fail_device_allocation_at(0);
    const auto again = run_backward(in, d_out, a);
    REQUIRE_MESSAGE(again.gradients.ok, again.gradients.error);
    // dK and dV are deterministic in both algorithms (GEMMs; one CTA writes each element once): bit for bit.
    // Flash's dQ sums atomic adds in whatever order the CTAs arrive: within rounding.
    const auto same_bits = [](const std::vector<float>& x, const std::vector<float>& y) {
      return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
    };
    CHECK(same_bits(again.gradients.dk, clean.gradients.dk));
    CHECK(same_bits(again.gradients.dv, clean.gradients.dv));
    if (a == Algorithm::Naive) CHECK(same_bits(again.gradients.dq, clean.gradients.dq));
    else check_gradient("dQ after the failures", again.gradients.dq, clean.gradients.dq);
    const MemoryInfo after = cuda().memory();
    REQUIRE(after.known);
    CHECK(after.free_bytes + (uint64_t{64} << 20) >= before.free_bytes);
  }
}

TEST_CASE("backward (CUDA): forward and backward are timed separately, with warm-up and repetitions") {
  const AttentionInputs in = generate_inputs(make_spec(1, 4, 2, 512, 64, DType::F32, "causal"), Generator::Gaussian, 31);
  const std::vector<float> d_out = random_d_out(in.q.size(), 31);
  for (Algorithm a : {Algorithm::Naive, Algorithm::Flash}) {
    INFO(algorithm_name(a));
    kernels::BackwardCudaOptions options;
    options.warmup = 1;
    options.repetitions = 4;
    options.want_forward_outputs = false;
    const auto r = kernels::run_backward_cuda(in, d_out, a, options);
    REQUIRE_MESSAGE(r.gradients.ok, r.gradients.error);
    for (const Timing* t : {&r.timing.forward, &r.timing.backward}) {
      CHECK(t->samples_ms.size() == 4);
      CHECK(t->min_ms > 0);
      CHECK(t->min_ms <= t->median_ms);
      CHECK(t->median_ms <= t->max_ms);
    }
    CHECK(r.output.empty());
    CHECK(r.lse.empty());
    CHECK_FALSE(r.kernel.empty());
    // Repeated backward passes leave the gradients of one pass (dQ is re-zeroed, the GEMMs overwrite).
    const auto once = run_backward(in, d_out, a);
    REQUIRE(once.gradients.ok);
    check_gradient("dQ after 5 passes", r.gradients.dq, once.gradients.dq);
    check_gradient("dK after 5 passes", r.gradients.dk, once.gradients.dk);
    // What is kept beyond inputs and gradients: naive's P and dS (2 x B·H·N² floats); flash's lse and D.
    const uint64_t expected = a == Algorithm::Naive ? 2ull * 4 * 512 * 512 * 4 : 2ull * 4 * 512 * 4 + 8 * 8;
    CHECK(r.gradients.bytes_allocated == expected);
  }
}


TEST_CASE("backward (CUDA backend): run_backward gives the CPU backend's gradients, memory stacks that nest, times") {
  auto cpu = make_cpu_backend(0);
  for (Algorithm algorithm : {Algorithm::Naive, Algorithm::Flash}) {
    auto spec = make_spec(1, 4, 2, 333, 64, DType::F32, "causal");
    const uint64_t seed = fresh_seed();
    INFO(algorithm_name(algorithm) << " seed " << seed);
    const auto in = generate_inputs(spec, Generator::Gaussian, seed);
    BackwardRequest request;
    request.algorithm = algorithm;
    request.inputs = &in;
    request.d_out_seed = seed;  // both backends draw the same dO
    request.warmup = 0;
    request.repetitions = 2;
    const BackwardRunResult gpu = cuda().run_backward(request);
    REQUIRE_MESSAGE(gpu.ok, gpu.error);
    const BackwardRunResult host = cpu->run_backward(request);
    REQUIRE_MESSAGE(host.ok, host.error);
    const BackwardReference ref = reference_backward(in, attnscope::random_d_out(spec, seed));
    check_gradient("dQ", gpu.dq, ref.dq);
    check_gradient("dK", gpu.dk, ref.dk);
    check_gradient("dV", gpu.dv, ref.dv);
    CHECK(gpu.dq.size() == host.dq.size());
    CHECK(gpu.backend == "cuda");
    CHECK(gpu.forward_timing.samples_ms.size() == 2);
    CHECK(gpu.backward_timing.median_ms > 0);
    // The stages nest: inference ≤ forward + saved ≤ forward + backward; naive saves N² per head, flash N.
    CHECK(gpu.forward_saved.total() <= gpu.forward_backward.total());
    CHECK(gpu.forward_saved.saved > 0);
    CHECK(gpu.forward_backward.gradients > 0);
    if (algorithm == Algorithm::Naive) CHECK(gpu.forward_saved.saved >= uint64_t{4} * 4 * 333 * 333);
    else CHECK(gpu.forward_saved.saved <= uint64_t{8} * 4 * 333);
    CHECK(gpu.capacity_bytes > 0);
  }
  // A budget the run cannot fit: refused with the bytes, before anything runs.
  auto spec = make_spec(1, 2, 2, 256, 64, DType::F32, "dense");
  const auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  BackwardRequest request;
  request.algorithm = Algorithm::Naive;
  request.inputs = &in;
  request.memory_budget_bytes = 1 << 16;
  const BackwardRunResult refused = cuda().run_backward(request);
  CHECK_FALSE(refused.ok);
  CHECK(refused.out_of_memory);
  CHECK(refused.error.find("use flash") != std::string::npos);
}
}  // namespace attnscope::test
