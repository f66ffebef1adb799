// test_flash1.cpp — the FlashAttention-1 CUDA kernel (kernels/flash1/) through the CUDA backend: against the float64
// reference and the CPU twin (core/cpu_twins.cpp's FA-1 order) on fresh random inputs at N = 1, 17, 1000, 4097, odd
// head dims, fp32 / fp16 / bf16 storage, causal and not, GQA and MQA, q_len < kv_len and patterned masks; O is
// poisoned with NaN before the launch, so every element must come back written. The traced launch: one record per
// (pass, batch, head, Q tile) in the twin's order, steps of a CTA one after another, probes equal to the twin's.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/cpu_twins.hpp"
#include "core/thread_pool.hpp"
#include "kernel_test_util.hpp"
#include "kernels/flash1/flash1.hpp"

namespace attnscope::test {
namespace {

ThreadPool& pool() {
  static ThreadPool threads(0);
  return threads;
}

// FA-1 rounds O to the storage type at every pass (Tc roundings, each shrunk by the next pass's factor ≤ 1), so fp16
// and bf16 get twice the single-rounding kernels' bound; fp32 keeps everything in float.
Tolerance flash1_tolerance(DType t) {
  const Tolerance base = tolerance_for(t);
  return t == DType::F32 ? base : Tolerance{2 * base.relative, 2 * base.absolute};
}

void check_flash1(const AttentionSpec& spec) {
  const uint64_t seed = fresh_seed();
  INFO("spec " << spec.summary() << " seed " << seed);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
  const RunResult r = run(Algorithm::Flash1, in);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.kernel.find("flash1") == 0);
  const Reference ref = reference_threaded(in);
  const Comparison c = compare(r.output, ref.output);
  const Tolerance tol = flash1_tolerance(spec.dtype);
  INFO("relative L2 error " << c.relative << " (tolerance " << tol.relative << "), max abs " << c.max_abs);
  CHECK(c.nan_count == 0);  // NaN: an element no pass wrote
  CHECK(c.relative <= tol.relative);
  CHECK(c.max_abs <= tol.absolute);
  CHECK(r.fully_masked_rows == ref.fully_masked_rows);
  if (spec.dtype == DType::F32) {  // the twin does the same float arithmetic in the same order of passes
    std::vector<float> twin(static_cast<size_t>(spec.q_elements()));
    TwinOptions options;
    const TwinResult tr = run_cpu_twin(Algorithm::Flash1, in, options, pool(), twin.data());
    REQUIRE_MESSAGE(tr.ok, tr.error);
    const Comparison t = compare(r.output, std::vector<double>(twin.begin(), twin.end()));
    INFO("against the CPU twin: relative L2 " << t.relative << ", max abs " << t.max_abs);
    CHECK(t.relative <= 2e-5);
    CHECK(tr.fully_masked_rows == r.fully_masked_rows);
  }
}

}  // namespace

TEST_CASE("flash1 (CUDA): matches the reference and the CPU twin over N x head dim x dtype, causal and not") {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{1000}, int64_t{4097}}) {
    if (n > max_n()) continue;
    for (int64_t d : {int64_t{1}, int64_t{40}, int64_t{64}, int64_t{128}}) {
      for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        if (n == 4097 && (d != 64 || dtype == DType::BF16)) continue;  // the float64 reference is O(N²·d)
        for (bool causal : {false, true}) check_flash1(make_spec(2, 4, 2, n, d, dtype, causal ? "causal" : "dense"));
      }
    }
  }
}

TEST_CASE("flash1 (CUDA): MQA, queries the last tokens (q_len < kv_len), every mask family, fully masked rows") {
  const int64_t n = std::min<int64_t>(777, std::max<int64_t>(max_n(), 65));
  {
    AttentionSpec spec = make_spec(1, 6, 1, n, 64, DType::F32, "causal");  // MQA
    check_flash1(spec);
    spec.q_len = n / 3;  // queries at the last positions
    check_flash1(spec);
  }
  for (const char* mask : {"window:100", "window:64,0+global:5+causal", "strided:32,16", "random:0.3,7,32",
                           "grid:100:10000/01100/00000/00110/10011"}) {
    check_flash1(make_spec(2, 2, 2, n, 32, DType::F32, mask));
    check_flash1(make_spec(1, 4, 2, n, 64, DType::F16, mask));
  }
}

TEST_CASE("flash1 (CUDA) trace: one record per (pass, batch, head, Q tile) in the twin's order, probes equal") {
  const AttentionSpec spec = make_spec(2, 3, 3, 300, 64, DType::F32, "window:150,0+causal");
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
  const std::vector<int32_t> probes = {0, 70, 299};
  const RunResult plain = run(Algorithm::Flash1, in);
  const RunResult traced = run(Algorithm::Flash1, in, true, probes);
  REQUIRE_MESSAGE(traced.ok, traced.error);
  REQUIRE(traced.trace.has_value());
  const Trace& t = *traced.trace;
  CHECK(t.source == "cuda");
  CHECK(t.algorithm == "flash1");
  CHECK(t.br == kernels::kFlash1Br);
  CHECK(t.bc == kernels::kFlash1Bc);
  const int64_t tr = 5, tc = 5, bh = 6;  // ceil(300 / 64)
  CHECK(t.tr == tr);
  CHECK(t.tc == tc);
  // Tracing changes nothing in the result.
  REQUIRE(plain.output.size() == traced.output.size());
  float worst = 0;
  for (size_t i = 0; i < plain.output.size(); ++i) worst = std::max(worst, std::fabs(plain.output[i] - traced.output[i]));
  CHECK(worst <= 1e-6f);

  REQUIRE(t.ctas.size() == static_cast<size_t>(tc * bh * tr));
  std::map<std::pair<int, int>, std::vector<const CtaRecord*>> by_cta;  // (batch, head) -> its steps in id order
  int64_t earliest = INT64_MAX;
  for (size_t id = 0; id < t.ctas.size(); ++id) {
    const CtaRecord& rec = t.ctas[id];
    const int64_t pass = static_cast<int64_t>(id) / (bh * tr), task = static_cast<int64_t>(id) % (bh * tr);
    CHECK(rec.cta == static_cast<int32_t>(id));
    CHECK(rec.batch == task / tr / 3);
    CHECK(rec.head == task / tr % 3);
    CHECK(rec.q_tile == task % tr);
    REQUIRE(rec.visits.size() == 1u);  // FA-1 visits every tile: the pass's K/V tile, empty or not
    CHECK(rec.visits[0].k_tile == pass);
    CHECK(rec.visits[0].end_ns >= rec.visits[0].start_ns);
    earliest = std::min(earliest, rec.visits[0].start_ns);
    by_cta[{rec.batch, rec.head}].push_back(&rec);
  }
  CHECK(earliest == 0);
  REQUIRE(by_cta.size() == static_cast<size_t>(bh));
  for (auto& [key, steps] : by_cta) {
    // One CTA per (batch, head) walks its steps in loop order: pass by pass, Q tile by Q tile, on one SM.
    std::sort(steps.begin(), steps.end(), [](const CtaRecord* a, const CtaRecord* b) {
      return std::make_pair(a->visits[0].k_tile, a->q_tile) < std::make_pair(b->visits[0].k_tile, b->q_tile);
    });
    for (size_t s = 1; s < steps.size(); ++s) {
      CHECK(steps[s]->unit == steps[0]->unit);
      CHECK(steps[s]->visits[0].start_ns >= steps[s - 1]->visits[0].end_ns);
    }
  }

  // Probes: the twin's probes on the same inputs, step for step (same float updates in the same pass order).
  TwinOptions options;
  options.record_trace = true;
  options.probe_rows = probes;
  std::vector<float> twin_out(static_cast<size_t>(spec.q_elements()));
  const TwinResult twin = run_cpu_twin(Algorithm::Flash1, in, options, pool(), twin_out.data());
  REQUIRE_MESSAGE(twin.ok, twin.error);
  REQUIRE(twin.trace.has_value());
  REQUIRE(t.probes.size() == probes.size());
  REQUIRE(twin.trace->probes.size() == probes.size());
  for (size_t p = 0; p < probes.size(); ++p) {
    const RowProbe& gpu = t.probes[p];
    const RowProbe& cpu = twin.trace->probes[p];
    CAPTURE(probes[p]);
    CHECK(gpu.row == probes[p]);
    REQUIRE(gpu.steps.size() == static_cast<size_t>(tc));
    REQUIRE(cpu.steps.size() == gpu.steps.size());
    for (size_t s = 0; s < gpu.steps.size(); ++s) {
      CAPTURE(s);
      CHECK(gpu.steps[s].k_tile == cpu.steps[s].k_tile);
      if (std::isinf(cpu.steps[s].m)) {
        CHECK(std::isinf(gpu.steps[s].m));
      } else {
        CHECK(gpu.steps[s].m == doctest::Approx(cpu.steps[s].m).epsilon(1e-5));
      }
      CHECK(gpu.steps[s].l == doctest::Approx(cpu.steps[s].l).epsilon(1e-4));
      CHECK(gpu.steps[s].rescale == doctest::Approx(cpu.steps[s].rescale).epsilon(1e-4));
      CHECK(gpu.steps[s].acc_norm == doctest::Approx(cpu.steps[s].acc_norm).epsilon(1e-4));
    }
  }
}

TEST_CASE("flash1 (CUDA): unsupported requests are answered in words, nothing launched") {
  const AttentionInputs in = generate_inputs(make_spec(1, 2, 2, 64, 200, DType::F32), Generator::Gaussian, fresh_seed());
  const RunResult r = run(Algorithm::Flash1, in);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("head dim up to 128") != std::string::npos);
  kernels::Flash1Params p;  // no buffers: validate names the problem before any launch
  p.q_len = p.kv_len = 10;
  p.head_dim = 64;
  CHECK(kernels::validate(p).find("device buffer is missing") != std::string::npos);
  p.head_dim = 0;
  CHECK(kernels::validate(p).find(">= 1") != std::string::npos);
}

}  // namespace attnscope::test
