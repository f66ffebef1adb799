// test_attention_kernels.cpp — naive and flash fp32 CUDA kernels against the double-precision reference on fresh
// random inputs: N ∈ {1, 17, 64, 1000, 4097}, d ∈ {32, 64, 128}, batch and heads > 1, GQA, every mask
// pattern, causal or not, fp32/fp16/bf16 storage. Outputs are poisoned with NaN before each launch (by the
// backend) and must come back fully written.
#include <doctest/doctest.h>

#include <climits>
#include <cstdlib>

#include "core/cpu_backend.hpp"
#include "kernels/naive/naive_attention.hpp"
#include "kernel_test_util.hpp"

namespace attnscope::test {
namespace {

TEST_CASE("the threaded test reference equals core's reference_attention") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  auto spec = make_spec(2, 4, 2, 67, 24, DType::F32, "window:9+global:3+causal");
  auto in = generate_inputs(spec, Generator::Gaussian, seed);
  const auto mine = reference_threaded(in);
  const auto core = reference_attention(in);
  REQUIRE(mine.output.size() == core.output.size());
  double worst = 0;
  for (size_t i = 0; i < core.output.size(); ++i) worst = std::max(worst, std::fabs(mine.output[i] - core.output[i]));
  CHECK(worst < 1e-12);
  CHECK(mine.fully_masked_rows == core.fully_masked_rows);
}

TEST_CASE("naive and flash fp32 match the reference over N x head_dim, causal and not") {
  for (int64_t n : {1, 17, 64, 1000, 4097}) {
    if (n > max_n()) {
      MESSAGE("N = " << n << " left out: ATTNSCOPE_KERNEL_TEST_MAX_N = " << max_n());
      continue;
    }
    for (int64_t d : {32, 64, 128}) {
      for (bool causal : {false, true}) {
        // Long sequences with fewer heads keep the double-precision reference fast; they still use GQA.
        const bool big = n > 1000;
        auto spec = make_spec(big ? 1 : 2, big ? 2 : 4, big ? 1 : 2, n, d, DType::F32, causal ? "causal" : "dense");
        const uint64_t seed = fresh_seed();
        CAPTURE(n);
        CAPTURE(d);
        CAPTURE(causal);
        INFO("seed " << seed);
        auto in = generate_inputs(spec, Generator::Gaussian, seed);
        const auto ref = reference_threaded(in);
        {
          INFO("naive fp32");
          check_output(run(Algorithm::Naive, in), ref, DType::F32);
        }
        {
          INFO("flash fp32");
          check_output(run(Algorithm::Flash, in), ref, DType::F32);
        }
      }
    }
  }
}

TEST_CASE("naive with fp16 and bf16 storage matches the reference within the storage tolerance") {
  for (DType dtype : {DType::F16, DType::BF16}) {
    for (int64_t n : {17, 1000, 4097}) {
      if (n > max_n()) continue;
      for (const char* mask : {"dense", "causal", "window:100+global:4"}) {
        auto spec = make_spec(n > 1000 ? 1 : 2, 4, 2, n, 64, dtype, mask);
        const uint64_t seed = fresh_seed();
        CAPTURE(n);
        INFO("dtype " << dtype_name(dtype) << " mask " << mask << " seed " << seed);
        auto in = generate_inputs(spec, Generator::Gaussian, seed);
        check_output(run(Algorithm::Naive, in), reference_threaded(in), dtype);
      }
    }
  }
}

TEST_CASE("every mask pattern: naive and flash (and block-sparse) fp32 agree with the reference") {
  // N = 1000 is not a multiple of the 64-wide tiles; the grid leaves some rows with no allowed key.
  const char* masks[] = {
      "dense",
      "causal",
      "window:64",
      "window:100,0+causal",
      "strided:64,8",
      "strided:100,3+causal",
      "dilated:128,3",
      "random:0.3,7,32",
      "random:0.05,11",
      "global:16+window:32",
      "grid:128:1100000/0110000/0000000/0001100/0000110/0000011/1000001/1111111",
      "grid:64:1",  // only the first 64 x 64 block: rows 64.. see nothing
  };
  for (const char* mask : masks) {
    for (int64_t q_len : {1000, 300}) {
      auto spec = make_spec(1, 2, 2, 1000, 64, DType::F32, mask);
      spec.q_len = q_len;  // q_len < kv_len: queries are the last tokens (decode-style positions)
      const uint64_t seed = fresh_seed();
      INFO("mask " << mask << " q_len " << q_len << " seed " << seed);
      auto in = generate_inputs(spec, Generator::Gaussian, seed);
      const auto ref = reference_threaded(in);
      for (Algorithm a : {Algorithm::Naive, Algorithm::Flash, Algorithm::BlockSparse}) {
        INFO(algorithm_name(a));
        check_output(run(a, in), ref, DType::F32);
      }
    }
  }
}

TEST_CASE("every softmax variant (pipelined, registers, streaming) gives the reference, rows beyond the register cover too") {
  struct Shape { int64_t q_len, kv_len, d; DType dtype; const char* mask; };
  const Shape shapes[] = {
      {64, 16448, 32, DType::F16, "causal"},  // 16-byte-aligned rows longer than 16384 keys: streaming only
      {300, 1024, 64, DType::F32, "dense"},
      {300, 2048, 64, DType::F16, "window:100+global:4"},
      {17, 17, 32, DType::BF16, "causal"},
      {500, 4096, 64, DType::F32, "grid:64:1"},  // fully masked rows
  };
  for (auto variant : {kernels::SoftmaxVariant::Pipelined, kernels::SoftmaxVariant::Registers,
                       kernels::SoftmaxVariant::Streaming}) {
    kernels::CudaBackendOptions options;  // the variant is an explicit option of a backend made for this test
    options.naive_softmax = variant;
    Backend& backend = backend_with(options);
    for (const auto& sh : shapes) {
      auto spec = make_spec(1, 2, 1, sh.kv_len, sh.d, sh.dtype, sh.mask);
      spec.q_len = sh.q_len;
      const uint64_t seed = fresh_seed();
      INFO("variant " << static_cast<int>(variant) << " kv_len " << sh.kv_len << " " << dtype_name(sh.dtype) << " "
                      << sh.mask << " seed " << seed);
      auto in = generate_inputs(spec, Generator::Gaussian, seed);
      check_output(run_on(backend, Algorithm::Naive, in), reference_threaded(in), sh.dtype);
    }
  }
}

TEST_CASE("pipelined softmax: few CTAs walking many rows each (every row buffer refilled many times)") {
  for (int64_t ctas : {1, 3}) {
    kernels::CudaBackendOptions options;
    options.naive_softmax = kernels::SoftmaxVariant::Pipelined;
    options.pipelined_grid_limit = ctas;
    Backend& backend = backend_with(options);
    for (DType dtype : {DType::F16, DType::F32}) {
      for (const char* mask : {"dense", "causal", "window:20+global:2"}) {
        auto spec = make_spec(2, 3, 1, 40, 32, dtype, mask);  // 6 heads x 40 rows of 40 keys
        const uint64_t seed = fresh_seed();
        INFO("ctas " << ctas << " " << dtype_name(dtype) << " " << mask << " seed " << seed);
        auto in = generate_inputs(spec, Generator::Gaussian, seed);
        check_output(run_on(backend, Algorithm::Naive, in), reference_threaded(in), dtype);
      }
    }
  }
}

TEST_CASE("a fully masked row is all zeros, and counted") {
  auto spec = make_spec(2, 2, 1, 200, 32, DType::F32, "grid:64:1");
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  for (Algorithm a : {Algorithm::Naive, Algorithm::Flash}) {
    auto r = run(a, in);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.fully_masked_rows == 2 * 2 * (200 - 64));
    // Row 100 of batch 1, head 1 has no allowed key.
    const float* row = &r.output[static_cast<size_t>(((1 * 2 + 1) * 200 + 100) * 32)];
    for (int c = 0; c < 32; ++c) CHECK(row[c] == 0.0f);
  }
}

TEST_CASE("timing: warm-up and repetitions give ordered statistics; flops and bytes are counted") {
  auto spec = make_spec(1, 2, 2, 512, 64, DType::F32, "causal");
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  for (Algorithm a : {Algorithm::Naive, Algorithm::Flash}) {
    RunRequest req;
    req.algorithm = a;
    req.inputs = &in;
    req.warmup = 2;
    req.repetitions = 5;
    req.want_output = false;
    auto r = cuda().run(req);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.timing.samples_ms.size() == 5);
    CHECK(r.timing.min_ms > 0);
    CHECK(r.timing.min_ms <= r.timing.median_ms);
    CHECK(r.timing.median_ms <= r.timing.max_ms);
    CHECK(r.output.empty());
    CHECK(r.flops > 0);
    CHECK(r.bytes_moved > 0);
  }
  // Naive allocates S and P: 2 x B·H·N²·4 bytes.
  auto r = run(Algorithm::Naive, in);
  CHECK(r.bytes_allocated == 2ull * 2 * 512 * 512 * 4);
}

}  // namespace
}  // namespace attnscope::test
