// test_trace_pool_memory.cpp — the instrumented flash launch's trace invariants, the GPU score pooling against
// core's cpu_score_image, the out-of-memory answer, and the launch boundary's validation.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/cpu_backend.hpp"
#include "kernel_test_util.hpp"
#include "kernels/flash_fp32/flash_fp32.hpp"
#include "kernels/naive/naive_attention.hpp"

namespace attnscope::test {
namespace {

TEST_CASE("flash trace: every non-empty tile visited once per CTA, in order, with GPU times and true probes") {
  auto spec = make_spec(2, 3, 3, 1000, 64, DType::F32, "window:150,0+global:8+causal");
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  auto in = generate_inputs(spec, Generator::Gaussian, seed);
  const std::vector<int32_t> probes = {0, 5, 500, 999};
  auto plain = run(Algorithm::Flash, in);
  auto traced = run(Algorithm::Flash, in, true, probes);
  REQUIRE_MESSAGE(traced.ok, traced.error);
  REQUIRE(traced.trace.has_value());
  const Trace& t = *traced.trace;
  CHECK(t.source == "cuda");
  CHECK(t.clock == "globaltimer");
  CHECK(t.br == kernels::kFlashBr);
  CHECK(t.bc == kernels::kFlashBc);
  CHECK(t.tr == 16);
  CHECK(t.tc == 16);
  CHECK(t.units > 0);
  // Tracing changes nothing in the result (same arithmetic; allow the last bit in case of different FMA fusion).
  REQUIRE(plain.output.size() == traced.output.size());
  float worst_diff = 0;
  for (size_t i = 0; i < plain.output.size(); ++i)
    worst_diff = std::max(worst_diff, std::fabs(plain.output[i] - traced.output[i]));
  CHECK(worst_diff <= 1e-6f);

  // The expected non-empty tiles per Q tile, from the mask itself.
  const MaskView mask = spec.mask.view();
  std::vector<std::vector<int>> expected(16);
  for (int qt = 0; qt < 16; ++qt)
    for (int kt = 0; kt < 16; ++kt) {
      bool any = false;
      for (int64_t i = qt * 64; i < std::min<int64_t>(1000, qt * 64 + 64) && !any; ++i)
        for (int64_t j = kt * 64; j < std::min<int64_t>(1000, kt * 64 + 64) && !any; ++j) any = spec.allowed(mask, i, j);
      if (any) expected[qt].push_back(kt);
    }
  REQUIRE(t.ctas.size() == 2u * 3u * 16u);
  std::set<std::tuple<int, int, int>> seen;
  int64_t earliest = INT64_MAX;
  std::set<int> units;
  for (const auto& cta : t.ctas) {
    CHECK(seen.insert({cta.batch, cta.head, cta.q_tile}).second);  // each (batch, head, Q tile) exactly once
    CHECK(cta.unit >= 0);  // %smid: a physical SM id, not necessarily below the SM count
    units.insert(cta.unit);
    REQUIRE(cta.visits.size() == expected[cta.q_tile].size());
    for (size_t v = 0; v < cta.visits.size(); ++v) {
      CHECK(cta.visits[v].k_tile == expected[cta.q_tile][v]);  // FA-2 order: K/V tiles ascending
      CHECK(cta.visits[v].start_ns >= 0);
      CHECK(cta.visits[v].end_ns >= cta.visits[v].start_ns);
      if (v > 0) CHECK(cta.visits[v].start_ns >= cta.visits[v - 1].end_ns);
      earliest = std::min(earliest, cta.visits[v].start_ns);
    }
  }
  CHECK(earliest == 0);  // times are relative to the earliest start
  CHECK(units.size() > 1);  // 96 CTAs are spread over more than one SM

  // Probes: after the last tile, m and l are the row's true max and Σ exp(s − m); rescale factors lie in (0, 1].
  REQUIRE(t.probes.size() == probes.size());
  const double scale = spec.softmax_scale();
  for (size_t p = 0; p < probes.size(); ++p) {
    const RowProbe& probe = t.probes[p];
    const int64_t row = probes[p];
    CAPTURE(row);
    CHECK(probe.row == row);
    CHECK(probe.batch == 0);
    CHECK(probe.head == 0);
    REQUIRE(probe.steps.size() == expected[row / 64].size());
    double m = -INFINITY;
    std::vector<double> s(1000);
    for (int64_t j = 0; j < 1000; ++j) {
      s[j] = -INFINITY;
      if (!spec.allowed(mask, row, j)) continue;
      double dot = 0;
      for (int c = 0; c < 64; ++c) dot += double{in.q_row(0, 0, row)[c]} * in.k_row(0, 0, j)[c];
      s[j] = dot * scale;
      m = std::max(m, s[j]);
    }
    double l = 0;
    for (double x : s) l += std::isinf(x) ? 0.0 : std::exp(x - m);
    // rescale = exp(m_old − m_new): 0 on the first tile with an allowed key (nothing accumulated yet), 1 while the
    // row has seen only masked keys, else exp of the max's growth (core/online_softmax.hpp's convention).
    double m_before = -INFINITY;
    for (const auto& step : probe.steps) {
      CHECK(step.rescale >= 0.0);
      CHECK(step.rescale <= 1.0);
      if (m_before == -INFINITY) CHECK(step.rescale == (step.m == -INFINITY ? 1.0 : 0.0));
      else CHECK(step.rescale == doctest::Approx(std::exp(m_before - step.m)).epsilon(1e-5));
      CHECK(step.m >= m_before);
      m_before = step.m;
    }
    CHECK(probe.steps.back().m == doctest::Approx(m).epsilon(1e-5));
    CHECK(probe.steps.back().l == doctest::Approx(l).epsilon(1e-4));
    // ‖acc‖ / l is the norm of the output row.
    double out_norm = 0;
    for (int c = 0; c < 64; ++c) out_norm += double{traced.output[row * 64 + c]} * traced.output[row * 64 + c];
    CHECK(probe.steps.back().acc_norm / probe.steps.back().l == doctest::Approx(std::sqrt(out_norm)).epsilon(1e-4));
  }
}

TEST_CASE("GPU score pooling equals cpu_score_image for S and P, pooled and at full resolution") {
  for (const char* mask : {"causal", "window:40+global:3", "grid:64:10/01"}) {
    auto spec = make_spec(2, 2, 1, 1000, 64, DType::F32, mask);
    spec.q_len = 900;
    const uint64_t seed = fresh_seed();
    INFO("mask " << mask << " seed " << seed);
    auto in = generate_inputs(spec, Generator::Gaussian, seed);
    for (ScoreKind kind : {ScoreKind::Scores, ScoreKind::Probabilities}) {
      for (int zoom = 0; zoom < 2; ++zoom) {
        ScoreImageRequest req;
        req.inputs = &in;
        req.batch = 1;
        req.head = 1;
        req.kind = kind;
        req.cells_q = 100;
        req.cells_k = 120;
        if (zoom) {  // a 70 x 90 window shown 1:1
          req.q0 = 100;
          req.q1 = 170;
          req.k0 = 150;
          req.k1 = 240;
        }
        CAPTURE(zoom);
        CAPTURE(static_cast<int>(kind));
        const auto gpu = cuda().score_image(req);
        const auto cpu = cpu_score_image(req, 4);
        REQUIRE_MESSAGE(gpu.ok, gpu.error);
        REQUIRE(cpu.ok);
        CHECK(gpu.rows == cpu.rows);
        CHECK(gpu.cols == cpu.cols);
        CHECK(gpu.fully_masked_rows == cpu.fully_masked_rows);
        REQUIRE(gpu.values.size() == cpu.values.size());
        int mismatched_nan = 0, off = 0;
        for (size_t i = 0; i < cpu.values.size(); ++i) {
          if (std::isnan(cpu.values[i]) || std::isnan(gpu.values[i])) {
            mismatched_nan += std::isnan(cpu.values[i]) != std::isnan(gpu.values[i]);
            continue;
          }
          // S: compare magnitudes (float vs double may pick the other of two entries tied in |S| with opposite signs).
          const double g = kind == ScoreKind::Scores ? std::fabs(gpu.values[i]) : gpu.values[i];
          const double c = kind == ScoreKind::Scores ? std::fabs(cpu.values[i]) : cpu.values[i];
          const double tol = kind == ScoreKind::Scores ? 1e-4 * (1 + c) : 1e-6 + 1e-4 * c;
          off += std::fabs(g - c) > tol;
        }
        CHECK(mismatched_nan == 0);
        CHECK(off == 0);
      }
    }
  }
}

TEST_CASE("out of memory is an answer, checked before allocating") {
  // Naive at N = 262144, one head, fp32: S and P need 2 x 256 GiB, far beyond any current GPU.
  auto spec = make_spec(1, 1, 1, 262144, 8, DType::F32, "causal");
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  const auto before = cuda().memory();
  auto r = run(Algorithm::Naive, in);
  CHECK_FALSE(r.ok);
  CHECK(r.out_of_memory);
  CHECK(r.bytes_needed > r.bytes_free);
  CHECK(r.bytes_needed >= 2ull * 262144 * 262144 * 4);
  CHECK(r.error.find("needs") != std::string::npos);
  CHECK(r.error.find("use flash") != std::string::npos);
  const auto after = cuda().memory();
  CHECK(after.free_bytes + (64ull << 20) >= before.free_bytes);  // nothing leaked
  // The same problem fits with flash (no N x N matrix): and it runs.
  auto flash_spec = make_spec(1, 1, 1, 262144, 8, DType::F32, "window:32,0+causal");
  auto flash_in = generate_inputs(flash_spec, Generator::Gaussian, fresh_seed());
  auto f = run(Algorithm::Flash, flash_in);
  CHECK_MESSAGE(f.ok, f.error);
  CHECK(f.bytes_allocated < (64ull << 20));

  // The lesson's numbers: N = 65536, 32 heads, fp16: S alone is 65536² x 32 x 2 bytes = 256 GiB.
  auto lesson = make_spec(1, 32, 32, 65536, 128, DType::F16, "causal");
  const auto plan = kernels::plan_device_memory(Algorithm::Naive, lesson, false, 0);
  CHECK(plan.workspace_bytes / 2 == 65536ull * 65536ull * 32ull * 2ull);
  const auto message = kernels::out_of_memory_message(Algorithm::Naive, lesson, plan, 80ull << 30, "a GPU");
  CHECK(message.find("256.0 GiB each") != std::string::npos);
}

TEST_CASE("the launch boundary names bad input") {
  std::string why;
  auto big_d = make_spec(1, 1, 1, 64, 160, DType::F32);
  CHECK_FALSE(cuda().supports(Algorithm::Flash, big_d, &why));
  CHECK(why.find("head dim") != std::string::npos);
  CHECK(cuda().supports(Algorithm::Naive, big_d, &why));
  auto half = make_spec(1, 1, 1, 64, 64, DType::F16);
  CHECK_FALSE(cuda().supports(Algorithm::Flash, half, &why));
  CHECK(why.find("fp32") != std::string::npos);

  kernels::FlashParams fp;
  fp.q_len = fp.kv_len = 64;
  fp.head_dim = 129;
  CHECK(kernels::validate(fp).find("head dim 129") != std::string::npos);
  kernels::NaiveParams np;
  np.q_len = np.kv_len = 64;
  np.head_dim = 64;
  np.q_heads = 3;
  np.kv_heads = 2;
  CHECK(kernels::validate(np).find("not a multiple") != std::string::npos);

  auto spec = make_spec(1, 1, 1, 100, 32, DType::F32);
  auto in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  auto r = run(Algorithm::Flash, in, true, {100});
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("probe row 100") != std::string::npos);
  AttentionInputs wrong = in;
  wrong.q.pop_back();
  r = run(Algorithm::Naive, wrong);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("do not match") != std::string::npos);
  r = run(Algorithm::Decode, in);
  CHECK_FALSE(r.ok);
}

TEST_CASE("device query reports a real device") {
  std::string why;
  auto devices = kernels::list_cuda_devices(&why);
  REQUIRE(!devices.empty());
  const auto& d = devices.front();
  CHECK(!d.name.empty());
  CHECK(d.sm_count > 0);
  CHECK(d.cc_major >= 7);
  CHECK(d.total_bytes > 0);
  CHECK(d.free_bytes <= d.total_bytes);
  CHECK(d.sm_clock_khz > 0);
  const auto* info = kernels::cuda_device_of(cuda());
  REQUIRE(info != nullptr);
  CHECK(info->name == cuda().device_name());
  const auto mem = cuda().memory();
  CHECK(mem.known);
  CHECK(mem.free_bytes > 0);
}

}  // namespace
}  // namespace attnscope::test

namespace attnscope::test {
namespace {

TEST_CASE("the CUDA backend measures its ceilings (copy bandwidth, fp32 and fp16 GEMM)") {
  const DeviceCeilings c = cuda().measure_ceilings();
  REQUIRE_MESSAGE(c.ok, c.error);
  CHECK(c.device == cuda().device_name());
  CHECK(c.copy_bytes_per_s > 1e10);          // above 10 GB/s: any CUDA GPU's memory
  CHECK(c.gemm_flops_per_s > 1e11);          // above 0.1 TFLOP/s
  CHECK(c.gemm16_flops_per_s > c.gemm_flops_per_s);  // tensor cores beat true fp32
  CHECK(c.seconds > 0);
}

}  // namespace
}  // namespace attnscope::test
