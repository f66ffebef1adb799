// test_beyond_kernels.cpp — the CUDA kernels of issue 20 through the CUDA backend: linear attention (non-causal and
// chunked causal; kernels/linear_attention/) and the selective scan (kernels/selective_scan/) against their float64
// references and their CPU twins, on fresh random inputs at N = 1, 17, 1000, 4097, odd head dims and channel counts,
// GQA and MQA, q_len < kv_len, fp32 / fp16 / bf16 storage; outputs are poisoned with NaN before the launches, so
// every element must come back written. The block's GEMM parts (kernels/layer/) are timed and labelled. Out of
// device memory at every allocation through the fault-injection hook; bad requests answered in words. The recurrent
// decode step of both models (kernels/recurrent_decode/) against the CPU's step on the same state.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/beyond_runs.hpp"
#include "core/linear_attention.hpp"
#include "core/rng.hpp"
#include "core/selective_scan.hpp"
#include "core/thread_pool.hpp"
#include "kernel_test_util.hpp"
#include "kernels/fault_injection.hpp"
#include "kernels/recurrent_decode/recurrent_decode.hpp"
#include "kernels/selective_scan/selective_scan.hpp"

namespace attnscope::test {
namespace {

ThreadPool& pool() {
  static ThreadPool threads(0);
  return threads;
}

// Linear attention's output is a convex combination of V rows (φ > 0), so its errors are those of the sums:
// fp32 arithmetic and atomics (~1e-7 per addition), plus the storage rounding of Q, K, V and O for fp16 / bf16.
double linear_tolerance(DType t) {
  switch (t) {
    case DType::F32: return 1e-4;
    case DType::F16: return 2e-3;
    case DType::BF16: return 1.6e-2;
  }
  return 0;
}

SequenceRunResult run_linear(const AttentionInputs& in, int64_t chunk) {
  LinearAttentionRunRequest request;
  request.inputs = &in;
  request.chunk = chunk;
  request.warmup = 0;
  request.repetitions = 2;  // the second run starts from the first's buffers: state zeroing must be part of a run
  return cuda().run_linear_attention(request);
}

void check_against(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
                   double tolerance) {
  CAPTURE(what);
  REQUIRE(got.size() == want.size());
  const Comparison c = compare(got, want);
  INFO("relative L2 error " << c.relative << ", max |error| " << c.max_abs);
  CHECK(c.nan_count == 0);  // NaN: an element no launch wrote
  CHECK(c.relative <= tolerance);
}

}  // namespace

TEST_CASE("linear attention (CUDA): non-causal and chunked causal match the float64 reference and the CPU twins") {
  struct Shape { int64_t heads, kv_heads, d; DType dtype; };
  const Shape shapes[] = {{4, 2, 64, DType::F32}, {3, 1, 40, DType::F32}, {2, 2, 128, DType::F16},
                          {4, 1, 64, DType::BF16}, {2, 1, 256, DType::F32}};
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{1000}, int64_t{4097}}) {
    if (n > max_n()) continue;
    for (const Shape& sh : shapes) {
      if (sh.d == 256 && n > 1000) continue;  // the float64 reference is O(N²·d) per head
      for (bool causal : {false, true}) {
        for (int64_t chunk : {int64_t{64}, int64_t{17}}) {
          if (!causal && chunk != 64) continue;
          AttentionSpec spec = make_spec(2, sh.heads, sh.kv_heads, n, sh.d, sh.dtype, causal ? "causal" : "dense");
          if (causal && n > 5) spec.q_len = n - 5;  // queries are the last q_len positions
          const uint64_t seed = fresh_seed();
          INFO("spec " << spec.summary() << " chunk " << chunk << " seed " << seed);
          const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
          const SequenceRunResult r = run_linear(in, chunk);
          REQUIRE_MESSAGE(r.ok, r.error);
          CHECK(r.backend == "cuda");
          CHECK(r.kernel.find("CUDA") != std::string::npos);
          CHECK(r.timing.samples_ms.size() == 2);
          CHECK(r.timing.median_ms > 0);
          CHECK(r.state_bytes == linear_attention_state_bytes(2, sh.kv_heads, sh.d));
          check_against("against float64", r.output, linear_attention_reference(in, &pool()), linear_tolerance(sh.dtype));
          const std::vector<float> twin =
              causal ? linear_attention_causal_chunked(in, chunk, pool()) : linear_attention_noncausal(in, pool());
          check_against("against the CPU twin", r.output, std::vector<double>(twin.begin(), twin.end()),
                        linear_tolerance(sh.dtype));
        }
      }
    }
  }
}

TEST_CASE("linear attention (CUDA): bad requests are answered in words") {
  AttentionSpec spec = make_spec(1, 2, 1, 100, 64, DType::F32, "causal");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  for (int64_t chunk : {int64_t{0}, int64_t{257}}) {
    const SequenceRunResult r = run_linear(in, chunk);
    CHECK_FALSE(r.ok);
    CHECK_MESSAGE(r.error.find("chunks of 1 to 256") != std::string::npos, r.error);
  }
  AttentionSpec wide = make_spec(1, 1, 1, 8, 300, DType::F32, "dense");
  const AttentionInputs wide_in = generate_inputs(wide, Generator::Gaussian, 3);
  const SequenceRunResult w = run_linear(wide_in, 64);
  CHECK_FALSE(w.ok);
  CHECK_MESSAGE(w.error.find("head dim up to 256") != std::string::npos, w.error);
  AttentionSpec windowed = make_spec(1, 1, 1, 64, 32, DType::F32, "window:8");
  const AttentionInputs windowed_in = generate_inputs(windowed, Generator::Gaussian, 4);
  const SequenceRunResult p = run_linear(windowed_in, 64);
  CHECK_FALSE(p.ok);
  CHECK_MESSAGE(p.error.find("no sparsity pattern") != std::string::npos, p.error);
}

TEST_CASE("selective scan (CUDA): y and the final state match the float64 reference and the CPU twin") {
  struct Shape { int64_t channels, state, chunk; bool with_h_in; };
  // State sizes reach each register bucket of the kernel (≤ 16, ≤ 64, ≤ 256); channels not a multiple of a block.
  const Shape shapes[] = {{130, 16, 64, false}, {3, 5, 1, true}, {70, 64, 256, true}, {33, 100, 17, false}};
  for (int64_t length : {int64_t{1}, int64_t{17}, int64_t{1000}, int64_t{4097}}) {
    if (length > max_n()) continue;
    for (const Shape& sh : shapes) {
      const uint64_t seed = fresh_seed();
      ScanShape shape;
      shape.batch = 2;
      shape.length = length;
      shape.channels = sh.channels;
      shape.state = sh.state;
      INFO("L " << length << " D " << sh.channels << " Nst " << sh.state << " chunk " << sh.chunk << " h_in "
                << sh.with_h_in << " seed " << seed);
      ScanInputs in = generate_scan_inputs(shape, seed);
      if (sh.with_h_in) {
        in.h_in.resize(static_cast<size_t>(shape.batch * shape.channels * shape.state));
        Rng rng(seed ^ 0x5ca7u);
        for (float& h : in.h_in) h = static_cast<float>(rng.normal());
      }
      SelectiveScanRunRequest request;
      request.inputs = &in;
      request.chunk = sh.chunk;
      request.warmup = 1;
      request.repetitions = 2;
      std::vector<float> h_out;
      // Through the backend (what the app calls) and the entry (which also returns the state).
      const SequenceRunResult through_backend = cuda().run_selective_scan(request);
      REQUIRE_MESSAGE(through_backend.ok, through_backend.error);
      CHECK(through_backend.kernel.find("CUDA") != std::string::npos);
      CHECK(through_backend.state_bytes == selective_scan_state_bytes(2, sh.channels, sh.state));
      const SequenceRunResult r = kernels::run_selective_scan_cuda(request, "test", nullptr, &h_out);
      REQUIRE_MESSAGE(r.ok, r.error);
      const ScanOutput ref = selective_scan_reference(in);
      check_against("y against float64", r.output, ref.y, 2e-4);
      check_against("h_out against float64", h_out, ref.h_out, 2e-4);
      check_against("y through the backend", through_backend.output, ref.y, 2e-4);
      const ScanResult twin = selective_scan_chunked(in, sh.chunk, pool());
      check_against("y against the CPU twin", r.output, std::vector<double>(twin.y.begin(), twin.y.end()), 2e-4);
    }
  }
}

TEST_CASE("beyond kernels (CUDA): out of device memory at every allocation, then a clean run") {
  AttentionSpec spec = make_spec(1, 2, 1, 300, 64, DType::F16, "causal");
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, fresh_seed());
  ScanShape shape;
  shape.length = 300;
  shape.channels = 40;
  const ScanInputs scan = generate_scan_inputs(shape, fresh_seed());
  SelectiveScanRunRequest scan_request;
  scan_request.inputs = &scan;
  scan_request.chunk = 64;
  auto run_scan = [&] { return cuda().run_selective_scan(scan_request); };
  auto run_attention = [&] { return run_linear(in, 32); };
  for (int which = 0; which < 2; ++which) {
    CAPTURE(which);
    auto run_one = [&] { return which == 0 ? run_attention() : run_scan(); };
    kernels::fail_device_allocation_at(0);
    const SequenceRunResult clean = run_one();
    REQUIRE_MESSAGE(clean.ok, clean.error);
    const int64_t allocations = kernels::device_allocations_counted();
    REQUIRE(allocations > 0);
    for (int64_t k = 1; k <= allocations; ++k) {
      CAPTURE(k);
      kernels::fail_device_allocation_at(k);
      const SequenceRunResult failed = run_one();
      CHECK_FALSE(failed.ok);
      CHECK(failed.out_of_memory);
      CHECK(failed.output.empty());
      CHECK_MESSAGE(failed.error.find("out of device memory") != std::string::npos, failed.error);
    }
    kernels::fail_device_allocation_at(0);
    const SequenceRunResult again = run_one();
    REQUIRE_MESSAGE(again.ok, again.error);
    CHECK(again.output.size() == clean.output.size());
  }
}

static std::vector<float> uniform(size_t n, Rng& rng, double lo, double hi) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(lo + (hi - lo) * rng.uniform());
  return v;
}

TEST_CASE("recurrent decode step (CUDA): linear attention and the scan match the CPU's step on the same state") {
  for (int64_t d : {int64_t{1}, int64_t{17}, int64_t{64}, int64_t{128}}) {
    const uint64_t seed = fresh_seed();
    INFO("head dim " << d << " seed " << seed);
    Rng rng(seed);
    const int64_t batch = 2, heads = 6, kv_heads = 2, groups = batch * kv_heads;
    std::vector<float> s = uniform(static_cast<size_t>(groups * d * d), rng, -50, 50);
    std::vector<float> z = uniform(static_cast<size_t>(groups * d), rng, 50, 150);
    const std::vector<float> q = uniform(static_cast<size_t>(batch * heads * d), rng, -1, 1);
    const std::vector<float> k = uniform(static_cast<size_t>(groups * d), rng, -1, 1);
    const std::vector<float> v = uniform(static_cast<size_t>(groups * d), rng, -1, 1);
    std::vector<LinearAttentionState> cpu(static_cast<size_t>(groups), LinearAttentionState(d));
    std::vector<float> want(q.size());
    for (int64_t g = 0; g < groups; ++g) {
      LinearAttentionState& st = cpu[static_cast<size_t>(g)];
      std::copy(s.begin() + g * d * d, s.begin() + (g + 1) * d * d, st.s.begin());
      std::copy(z.begin() + g * d, z.begin() + (g + 1) * d, st.z.begin());
      st.append(&k[static_cast<size_t>(g * d)], &v[static_cast<size_t>(g * d)]);
      const int64_t b = g / kv_heads, kvh = g % kv_heads, group = heads / kv_heads;
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
        st.read(&q[static_cast<size_t>((b * heads + h) * d)], &want[static_cast<size_t>((b * heads + h) * d)]);
    }
    const std::vector<float> got = kernels::linear_attention_step_cuda(batch, heads, kv_heads, d, s, z, q, k, v);
    check_against("linear attention output", got, std::vector<double>(want.begin(), want.end()), 1e-5);
    std::vector<float> cpu_s, cpu_z;
    for (const LinearAttentionState& st : cpu) {
      cpu_s.insert(cpu_s.end(), st.s.begin(), st.s.end());
      cpu_z.insert(cpu_z.end(), st.z.begin(), st.z.end());
    }
    check_against("S after the append", s, std::vector<double>(cpu_s.begin(), cpu_s.end()), 1e-6);
    check_against("z after the append", z, std::vector<double>(cpu_z.begin(), cpu_z.end()), 1e-6);
  }
  for (int64_t state : {int64_t{1}, int64_t{5}, int64_t{16}}) {
    const uint64_t seed = fresh_seed();
    INFO("state " << state << " seed " << seed);
    Rng rng(seed);
    const int64_t batch = 3, channels = 130, bd = batch * channels;
    std::vector<float> h = uniform(static_cast<size_t>(bd * state), rng, -1, 1);
    const std::vector<float> x = uniform(static_cast<size_t>(bd), rng, -1, 1);
    const std::vector<float> delta = uniform(static_cast<size_t>(bd), rng, 0.001, 0.1);
    const std::vector<float> a = uniform(static_cast<size_t>(channels * state), rng, -8, -0.5);
    const std::vector<float> b = uniform(static_cast<size_t>(batch * state), rng, -1, 1);
    const std::vector<float> c = uniform(static_cast<size_t>(batch * state), rng, -1, 1);
    // The step in double: h' = exp(Δ·A)·h + Δ·B·x, y = x + Σₙ C·h'.
    std::vector<double> want_h(h.size()), want_y(x.size());
    for (int64_t i = 0; i < bd; ++i) {
      const int64_t bb = i / channels, ch = i % channels;
      double y = x[static_cast<size_t>(i)];
      for (int64_t n = 0; n < state; ++n) {
        const size_t at = static_cast<size_t>(i * state + n);
        want_h[at] = std::exp(double{delta[static_cast<size_t>(i)]} * a[static_cast<size_t>(ch * state + n)]) * h[at] +
                     double{delta[static_cast<size_t>(i)]} * b[static_cast<size_t>(bb * state + n)] * x[static_cast<size_t>(i)];
        y += c[static_cast<size_t>(bb * state + n)] * want_h[at];
      }
      want_y[static_cast<size_t>(i)] = y;
    }
    const std::vector<float> y = kernels::selective_scan_step_cuda(batch, channels, state, h, x, delta, a, b, c);
    check_against("scan y", y, want_y, 1e-5);
    check_against("scan h after the step", h, want_h, 1e-5);
  }
}

TEST_CASE("recurrent decode (CUDA backend): one timed sample per context, the state's size, bad requests refused") {
  for (RecurrentModel model : {RecurrentModel::LinearAttention, RecurrentModel::SelectiveScan}) {
    CAPTURE(recurrent_model_name(model));
    RecurrentDecodeRequest request;
    request.model = model;
    request.batch = 2;
    request.heads = 8;
    request.kv_heads = 2;
    request.head_dim = 64;
    request.channels = 512;
    request.state = 16;
    request.contexts = {1, 1000, 100000};
    request.repetitions = 3;
    const RecurrentDecodeResult r = cuda().recurrent_decode(request);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.backend == "cuda");
    CHECK(r.kernel.find("CUDA") != std::string::npos);
    REQUIRE(r.samples.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK(r.samples[i].context == request.contexts[i]);
      CHECK(r.samples[i].timing.samples_ms.size() == 3);
      CHECK(r.samples[i].timing.median_ms > 0);
    }
    CHECK(r.state_bytes == (model == RecurrentModel::LinearAttention ? linear_attention_state_bytes(2, 2, 64)
                                                                      : selective_scan_state_bytes(2, 512, 16)));
    RecurrentDecodeRequest bad = request;
    bad.contexts.clear();
    const RecurrentDecodeResult refused = cuda().recurrent_decode(bad);
    CHECK_FALSE(refused.ok);
    CHECK_MESSAGE(refused.error.find("at least one context") != std::string::npos, refused.error);
  }
}

TEST_CASE("layer timing (CUDA): the four parts in order, timed, with cuBLAS GEMMs in the block's dtype") {
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    CAPTURE(dtype_name(dtype));
    LayerTimingRequest request;
    request.batch = 2;
    request.tokens = 257;
    request.d_model = 192;
    request.heads = 4;
    request.kv_heads = 2;
    request.head_dim = 64;
    request.mlp_hidden = 500;
    request.gated_mlp = dtype != DType::F32;
    request.dtype = dtype;
    request.repetitions = 2;
    const LayerTimingResult r = cuda().time_layer(request);
    REQUIRE_MESSAGE(r.ok, r.error);
    REQUIRE(r.parts.size() == 4);
    const std::vector<double> flops = layer_part_flops(request);
    for (size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK(r.parts[i].part == kLayerParts[i]);
      CHECK(r.parts[i].timing.median_ms > 0);
      CHECK(r.parts[i].flops == doctest::Approx(flops[i]));
    }
    CHECK(r.parts[0].what.find("cuBLAS") != std::string::npos);
    CHECK(r.parts[0].what.find(dtype_name(dtype)) != std::string::npos);
    // fp16 / bf16 flash is the tensor-core kernel; fp32 flash the teaching kernel.
    CHECK(r.parts[1].what.find(dtype == DType::F32 ? "flash fp32" : "flash-tc") != std::string::npos);
    const uint64_t weights = static_cast<uint64_t>(192 * (4 + 2 * 2) * 64 + 4 * 64 * 192 +
                                                   192 * 500 * (request.gated_mlp ? 3 : 2));
    CHECK(r.weight_bytes == weights * static_cast<uint64_t>(dtype_bytes(dtype)));
  }
  LayerTimingRequest bad;
  bad.heads = 3;
  bad.kv_heads = 2;
  const LayerTimingResult refused = cuda().time_layer(bad);
  CHECK_FALSE(refused.ok);
  CHECK_MESSAGE(refused.error.find("multiple of KV heads") != std::string::npos, refused.error);
}

}  // namespace attnscope::test
