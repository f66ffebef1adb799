// test_flash_tc.cpp — the tensor-core flash kernel (kernels/flash_tc*.cu) against the double-precision reference
// on fresh random inputs: N ∈ {1, 17, 64, 1000, 4097}, head_dim 64 and 128, fp16 and bf16, causal or not, GQA and
// MQA, decode-style q_len < kv_len, every mask pattern (block-sparse and gathered schedules), rows with no allowed
// key; the output is poisoned with NaN by the backend and must come back fully written. Also: the trace of an
// instrumented launch, and refusals in words.
//
// Tolerances (kernel_test_util.hpp), against the reference on the unrounded fp32 inputs: fp16 relative L2 ≤ 6e-3 and
// max abs ≤ 3e-2; bf16 ≤ 3e-2 and ≤ 0.15. Q, K, V are rounded to the storage type, P to it before P·V, O on output.
#include <doctest/doctest.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <set>

#include "core/visit_schedule.hpp"
#include "kernel_test_util.hpp"
#include "kernels/flash_tc/flash_tc.hpp"

namespace attnscope::test {
namespace {

void check_flash_tc(const AttentionSpec& spec, Generator generator = Generator::Gaussian) {
  const uint64_t seed = fresh_seed();
  INFO(spec.summary() << " seed " << seed);
  auto in = generate_inputs(spec, generator, seed);
  const RunResult r = run(Algorithm::FlashTensorCore, in);
  INFO("kernel: " << r.kernel);
  check_output(r, reference_threaded(in), spec.dtype);
}

TEST_CASE("flash-tc matches the reference over N x head_dim x dtype, causal and not") {
  for (int64_t n : {1, 17, 64, 1000, 4097}) {
    if (n > max_n()) {
      MESSAGE("N = " << n << " left out: ATTNSCOPE_KERNEL_TEST_MAX_N = " << max_n());
      continue;
    }
    for (int64_t d : {64, 128})
      for (DType dtype : {DType::F16, DType::BF16})
        for (bool causal : {false, true}) {
          const bool big = n > 1000;
          check_flash_tc(make_spec(big ? 1 : 2, big ? 2 : 4, big ? 1 : 2, n, d, dtype, causal ? "causal" : "dense"));
        }
  }
}

TEST_CASE("flash-tc: GQA and MQA groups, decode-style q_len < kv_len, positional inputs") {
  for (int64_t kv_heads : {1, 2, 8}) {
    auto spec = make_spec(2, 8, kv_heads, 300, 64, DType::F16, "causal");
    check_flash_tc(spec);
  }
  for (int64_t q_len : {1, 7, 129}) {
    if (q_len > max_n()) continue;
    auto spec = make_spec(1, 4, 2, 777, 128, DType::BF16, "causal");
    spec.q_len = q_len;  // the queries are the last q_len tokens of the 777
    check_flash_tc(spec);
  }
  check_flash_tc(make_spec(1, 2, 2, 513, 128, DType::F16, "window:64"), Generator::Positional);
}

TEST_CASE("flash-tc: every mask pattern, block-sparse and gathered schedules") {
  const char* masks[] = {"window:100",           "window:37,5+causal", "strided:16,8",      "strided:128,64+causal",
                         "dilated:200,3",        "random:0.2,9,64",    "random:0.3,4,16",   "global:8+window:30",
                         "grid:64:1001/0110/1111", "window:2+dilated:90,4", "strided:6,3+window:4,0+causal"};
  for (const char* mask : masks)
    for (int64_t d : {64, 128}) {
      const int64_t n = std::min<int64_t>(max_n(), 1000);
      auto spec = make_spec(1, 2, 1, n, d, d == 64 ? DType::F16 : DType::BF16, mask);
      const VisitSchedule schedule = build_visit_schedule(spec, kernels::kFlashTcBr, kernels::kFlashTcBc);
      INFO("mask " << mask << (schedule.gathered ? " (gathered)" : " (block-sparse)"));
      check_flash_tc(spec);
    }
  // The strided pattern is gathered at this size (every 64th key + a band): the path must be exercised.
  auto strided = make_spec(1, 1, 1, 2048, 64, DType::F16, "strided:64,32");
  CHECK(build_visit_schedule(strided, kernels::kFlashTcBr, kernels::kFlashTcBc).gathered);
  if (max_n() >= 2048) check_flash_tc(strided);
}

TEST_CASE("flash-tc: a row with no allowed key is zeros and counted; Q tiles with no visit at all too") {
  // grid:64:1 allows only the first 64x64 block: rows 64.. see nothing, and Q tiles past the first have no visits.
  auto spec = make_spec(2, 2, 1, 300, 64, DType::F16, "grid:64:1");
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  auto r = run(Algorithm::FlashTensorCore, in);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.fully_masked_rows == 2 * 2 * (300 - 64));
  const float* row = &r.output[static_cast<size_t>(((1 * 2 + 1) * 300 + 250) * 64)];
  for (int c = 0; c < 64; ++c) CHECK(row[c] == 0.0f);
  check_output(r, reference_threaded(in), DType::F16);
}

TEST_CASE("flash-tc trace: each CTA's visits follow the schedule, times ordered, probes end at the row's softmax") {
  auto spec = make_spec(2, 2, 1, 1000, 64, DType::F16, "window:300,0+global:8+causal");
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  auto in = generate_inputs(spec, Generator::Gaussian, seed);
  const std::vector<int32_t> probes = {0, 129, 500, 999};
  // The traced launch runs the mma.sync kernel; untraced, that kernel must give the same bits (the Hopper paths
  // sum in another order and are checked against the reference elsewhere).
  auto plain = run(Algorithm::FlashTensorCore, in, false, {}, TensorCorePath::Mma);
  auto traced = run(Algorithm::FlashTensorCore, in, true, probes);
  REQUIRE_MESSAGE(traced.ok, traced.error);
  REQUIRE(traced.trace.has_value());
  const Trace& t = *traced.trace;
  CHECK(t.br == kernels::kFlashTcBr);
  CHECK(t.bc == kernels::kFlashTcBc);
  CHECK(t.tr == 8);
  CHECK(t.tc == 16);
  CHECK(t.algorithm == std::string("flash-tc"));
  REQUIRE(plain.output.size() == traced.output.size());
  for (size_t i = 0; i < plain.output.size(); ++i) REQUIRE(plain.output[i] == traced.output[i]);

  const VisitSchedule schedule = build_visit_schedule(spec, kernels::kFlashTcBr, kernels::kFlashTcBc);
  REQUIRE(t.ctas.size() == 2u * 2u * 8u);
  std::set<std::tuple<int, int, int>> seen;
  for (const auto& cta : t.ctas) {
    CHECK(seen.insert({cta.batch, cta.head, cta.q_tile}).second);
    const int32_t begin = schedule.offsets[cta.q_tile], end = schedule.offsets[cta.q_tile + 1];
    REQUIRE(cta.visits.size() == static_cast<size_t>(end - begin));
    for (size_t v = 0; v < cta.visits.size(); ++v) {
      CHECK(cta.visits[v].k_tile == schedule.visits[begin + v].tile);
      CHECK(cta.visits[v].end_ns >= cta.visits[v].start_ns);
      if (v > 0) CHECK(cta.visits[v].start_ns >= cta.visits[v - 1].end_ns);
    }
  }
  // After the last visit: m = the row's max of scale·S, l = Σ exp(scale·S − m) (within fp16 input rounding),
  // and ‖acc‖ / l = ‖O row‖.
  const MaskView mask = spec.mask.view();
  const double scale = spec.softmax_scale();
  REQUIRE(t.probes.size() == probes.size());
  for (size_t p = 0; p < probes.size(); ++p) {
    const RowProbe& probe = t.probes[p];
    const int64_t row = probes[p];
    CAPTURE(row);
    REQUIRE(probe.steps.size() ==
            static_cast<size_t>(schedule.offsets[row / kernels::kFlashTcBr + 1] - schedule.offsets[row / kernels::kFlashTcBr]));
    double m = -INFINITY;
    std::vector<double> s(1000, -INFINITY);
    for (int64_t j = 0; j < 1000; ++j) {
      if (!spec.allowed(mask, row, j)) continue;
      double dot = 0;
      for (int c = 0; c < 64; ++c) dot += double{in.q_row(0, 0, row)[c]} * in.k_row(0, 0, j)[c];
      s[j] = dot * scale;
      m = std::max(m, s[j]);
    }
    double l = 0;
    for (double x : s) l += std::isinf(x) ? 0.0 : std::exp(x - m);
    double m_before = -INFINITY;
    for (const auto& step : probe.steps) {
      CHECK(step.rescale >= 0.0);
      CHECK(step.rescale <= 1.0);
      CHECK(step.m >= m_before);
      m_before = step.m;
    }
    CHECK(std::fabs(probe.steps.back().m - m) < 0.02);
    CHECK(probe.steps.back().l == doctest::Approx(l).epsilon(0.03));
    double out_norm = 0;
    for (int c = 0; c < 64; ++c) out_norm += double{traced.output[row * 64 + c]} * traced.output[row * 64 + c];
    CHECK(probe.steps.back().acc_norm / probe.steps.back().l == doctest::Approx(std::sqrt(out_norm)).epsilon(0.01));
  }
}

TEST_CASE("flash-tc: every implementation (mma.sync; wgmma and warp-specialised on compute capability 9.0) matches "
          "the reference") {
  const auto* info = kernels::cuda_device_of(cuda());
  REQUIRE(info != nullptr);
  const bool hopper = info->cc_major == 9 && info->cc_minor == 0;
  for (TensorCorePath path : {TensorCorePath::Mma, TensorCorePath::Auto, TensorCorePath::Wgmma,
                              TensorCorePath::WarpSpecialized, TensorCorePath::WarpSpecializedNoPingPong}) {
    const bool needs_hopper = path != TensorCorePath::Mma && path != TensorCorePath::Auto;
    for (int64_t d : {64, 128})
      for (const char* mask : {"dense", "causal", "window:200", "random:0.3,1,64", "strided:64,32"})
        for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{1000}, int64_t{4097}}) {
          if (n > max_n() || (n == 4097 && std::string(mask) != "causal")) continue;  // one long shape per path
          auto spec = make_spec(2, 4, 2, n, d, d == 64 ? DType::BF16 : DType::F16, mask);
          const uint64_t seed = fresh_seed();
          INFO("path " << tensor_core_path_name(path) << " " << spec.summary() << " seed " << seed);
          auto in = generate_inputs(spec, Generator::Gaussian, seed);
          const RunResult r = run(Algorithm::FlashTensorCore, in, false, {}, path);
          INFO("kernel: " << r.kernel << ", error: " << r.error);
          const bool gathered = build_visit_schedule(spec, kernels::kFlashTcBr, kernels::kFlashTcBc).gathered;
          if (needs_hopper && !hopper) {
            CHECK_FALSE(r.ok);
            CHECK(r.error.find("path") != std::string::npos);
            continue;
          }
          if (path == TensorCorePath::WarpSpecialized || path == TensorCorePath::WarpSpecializedNoPingPong) {
            if (gathered) {  // refused in words: the warp-specialised kernel copies whole tiles
              CHECK_FALSE(r.ok);
              CHECK(r.error.find("gathered") != std::string::npos);
              continue;
            }
            CHECK(r.kernel.find("warp-specialised") != std::string::npos);
            CHECK((r.kernel.find("no ping-pong") != std::string::npos) ==
                  (path == TensorCorePath::WarpSpecializedNoPingPong));
          }
          if (path == TensorCorePath::Auto)
            CHECK((r.kernel.find(gathered ? "wgmma (sm_90a)" : "warp-specialised") != std::string::npos) == hopper);
          if (path == TensorCorePath::Mma) CHECK(r.kernel.find("mma.sync") != std::string::npos);
          if (path == TensorCorePath::Wgmma) CHECK(r.kernel.find("wgmma (sm_90a)") != std::string::npos);
          check_output(r, reference_threaded(in), spec.dtype);
        }
  }
}

TEST_CASE("flash-tc refuses what it does not run, in words") {
  std::string why;
  CHECK_FALSE(cuda().supports(Algorithm::FlashTensorCore, make_spec(1, 1, 1, 64, 64, DType::F32), &why));
  CHECK(why.find("fp16 or bf16") != std::string::npos);
  CHECK_FALSE(cuda().supports(Algorithm::FlashTensorCore, make_spec(1, 1, 1, 64, 96, DType::F16), &why));
  CHECK(why.find("head dim 64 and 128") != std::string::npos);
  auto in = generate_inputs(make_spec(1, 1, 1, 64, 32, DType::BF16), Generator::Gaussian, fresh_seed());
  auto r = run(Algorithm::FlashTensorCore, in);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("head dim") != std::string::npos);
  kernels::FlashTcParams p;
  p.dtype = DType::F16;
  p.head_dim = 64;
  CHECK(kernels::validate(p).find("at least 1") != std::string::npos);
}

TEST_CASE("flash-tc timing counts the computed pairs: causal about half of dense") {
  auto dense = make_spec(1, 4, 4, 2048, 128, DType::F16, "dense");
  auto causal = make_spec(1, 4, 4, 2048, 128, DType::F16, "causal");
  auto in_d = generate_inputs(dense, Generator::Gaussian, fresh_seed());
  auto in_c = generate_inputs(causal, Generator::Gaussian, fresh_seed());
  auto rd = run(Algorithm::FlashTensorCore, in_d), rc = run(Algorithm::FlashTensorCore, in_c);
  REQUIRE_MESSAGE(rd.ok, rd.error);
  REQUIRE_MESSAGE(rc.ok, rc.error);
  CHECK(rd.flops == doctest::Approx(4.0 * 4 * 2048.0 * 2048 * 128));
  // Causal visits tiles 0..2i+1 of Q tile i: (Σ_{i<16} (2i + 2)) · 128 · 64 pairs = 272 · 8192.
  CHECK(rc.flops == doctest::Approx(4.0 * 4 * 272 * 8192.0 * 128));
  CHECK(rd.timing.median_ms > 0);
}

}  // namespace
}  // namespace attnscope::test
