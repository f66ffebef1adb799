// test_training_backend.cpp — Backend::run_backward on the CPU backend: gradients against the float64 reference on
// fresh random inputs (N = 1, 17, 1000, GQA, causal), the memory stacks adding up and growing as they must (naive's
// saved P as N², flash's lse as N), bad requests answered in words, and the trace of the backward tile loop.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <string>

#include "core/backward.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;

namespace {

AttentionSpec training_spec(int64_t b, int64_t h, int64_t hkv, int64_t n, int64_t d, bool causal) {
  AttentionSpec s;
  s.batch = b; s.q_heads = h; s.kv_heads = hkv; s.q_len = n; s.kv_len = n; s.head_dim = d;
  s.mask.causal = causal;
  return s;
}

// A seed no earlier run used: the inputs are fresh every run, and the seed is printed on failure.
uint64_t fresh_seed() {
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// True when every element is finite and within 2e-4 of the largest |reference| (+ 2e-5 absolute: at N = 1 the
// softmax has one key, so dQ and dK are zero up to rounding).
bool close_to(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return false;
    worst = std::max(worst, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  INFO("max |error| ", worst, " against max |gradient| ", scale);
  CHECK(worst <= 2e-4 * scale + 2e-5);
  return worst <= 2e-4 * scale + 2e-5;
}

}  // namespace

TEST_CASE("run_backward on the CPU matches the float64 reference (N = 1, 17, 1000; GQA; causal)") {
  auto backend = make_cpu_backend(2);
  struct Case { int64_t b, h, hkv, n, d; bool causal; };
  for (const Case c : {Case{1, 2, 2, 1, 16, false}, Case{2, 3, 3, 17, 8, false}, Case{1, 4, 2, 17, 16, true},
                       Case{1, 2, 1, 1000, 32, true}, Case{1, 1, 1, 1000, 16, false}}) {
    const uint64_t seed = fresh_seed();
    const AttentionSpec spec = training_spec(c.b, c.h, c.hkv, c.n, c.d, c.causal);
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, seed);
    const std::vector<float> d_out = random_d_out(spec, seed + 1);
    const BackwardReference want = reference_backward(in, d_out);
    for (Algorithm a : {Algorithm::Naive, Algorithm::Flash}) {
      INFO(std::string(algorithm_name(a)), " on ", spec.summary(), " seed ", seed);
      BackwardRequest request;
      request.algorithm = a;
      request.inputs = &in;
      request.d_out = &d_out;
      request.tiles = TileConfig{16, 16};
      request.warmup = 0;
      request.repetitions = 1;
      const BackwardRunResult r = backend->run_backward(request);
      REQUIRE_MESSAGE(r.ok, r.error);
      CHECK(close_to(r.dq, want.dq));
      CHECK(close_to(r.dk, want.dk));
      CHECK(close_to(r.dv, want.dv));
      CHECK(r.forward_timing.samples_ms.size() == 1);
      CHECK(r.backward_timing.samples_ms.size() == 1);
      CHECK(r.backward_flops > r.forward_flops);
    }
  }
}

TEST_CASE("run_backward draws dO from the seed when none is given, the same dO for the same seed") {
  auto backend = make_cpu_backend(2);
  const AttentionSpec spec = training_spec(1, 2, 2, 33, 8, true);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 5);
  BackwardRequest request;
  request.inputs = &in;
  request.d_out_seed = 99;
  request.warmup = 0;
  request.repetitions = 1;
  const BackwardRunResult drawn = backend->run_backward(request);
  REQUIRE_MESSAGE(drawn.ok, drawn.error);
  const BackwardReference want = reference_backward(in, random_d_out(spec, 99));
  CHECK(close_to(drawn.dq, want.dq));
  CHECK(close_to(drawn.dv, want.dv));
}

TEST_CASE("run_backward's memory stacks add up: nested stages, naive's saved P grows as N², flash's lse as N") {
  auto backend = make_cpu_backend(2);
  auto run = [&](Algorithm a, int64_t n) {
    const AttentionSpec spec = training_spec(1, 2, 2, n, 16, false);
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 11);
    BackwardRequest request;
    request.algorithm = a;
    request.inputs = &in;
    request.warmup = 0;
    request.repetitions = 1;
    request.want_gradients = false;
    BackwardRunResult r = backend->run_backward(request);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.dq.empty());
    // Q, K, V and O are the same tensors in every stage; saved is kept from the forward into the backward.
    const uint64_t tensors = 4 * 4 * static_cast<uint64_t>(spec.q_elements());
    CHECK(r.forward_only.tensors == tensors);
    CHECK(r.forward_saved.tensors == tensors);
    CHECK(r.forward_backward.tensors == tensors);
    CHECK(r.forward_only.saved == 0);
    CHECK(r.forward_backward.saved == r.forward_saved.saved);
    CHECK(r.forward_backward.gradients == tensors);  // dO, dQ, dK, dV: Q's size each here
    CHECK(r.forward_backward.total() == r.forward_backward.tensors + r.forward_backward.saved +
                                            r.forward_backward.gradients + r.forward_backward.workspace);
    CHECK(r.forward_backward.total() > r.forward_saved.total());
    CHECK(r.capacity_bytes > 0);
    CHECK_FALSE(r.capacity_words.empty());
    return r;
  };
  const BackwardRunResult naive_256 = run(Algorithm::Naive, 256), naive_512 = run(Algorithm::Naive, 512);
  const BackwardRunResult flash_256 = run(Algorithm::Flash, 256), flash_512 = run(Algorithm::Flash, 512);
  // Naive keeps P: B·H·N² floats; doubling N quadruples it. Flash keeps lse: B·H·N floats; doubling N doubles it.
  CHECK(naive_256.forward_saved.saved == 4ull * 2 * 256 * 256);
  CHECK(naive_512.forward_saved.saved == 4 * naive_256.forward_saved.saved);
  CHECK(flash_256.forward_saved.saved == 4ull * 2 * 256);
  CHECK(flash_512.forward_saved.saved == 2 * flash_256.forward_saved.saved);
  // Inference with naive holds one head's S and P at a time; training holds P of every head and dP beside it.
  CHECK(naive_512.forward_only.workspace >= 2ull * 4 * 512 * 512);
  CHECK(naive_512.forward_backward.workspace >= 4ull * 512 * 512);
  CHECK(flash_512.forward_backward.total() < naive_512.forward_backward.total() / 4);
}

TEST_CASE("run_backward refuses bad requests in words and over-budget runs as out of memory") {
  auto backend = make_cpu_backend(2);
  const AttentionSpec spec = training_spec(1, 2, 2, 64, 16, false);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 3);
  BackwardRequest request;
  request.inputs = &in;

  SUBCASE("no inputs") {
    request.inputs = nullptr;
    const BackwardRunResult r = backend->run_backward(request);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("no inputs") != std::string::npos);
  }
  SUBCASE("zero size") {
    AttentionInputs empty = in;
    empty.spec.q_len = 0;
    request.inputs = &empty;
    const BackwardRunResult r = backend->run_backward(request);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("query length 0") != std::string::npos);
  }
  SUBCASE("dO of the wrong length") {
    const std::vector<float> short_d_out(static_cast<size_t>(spec.q_elements()) - 1, 0.5f);
    request.d_out = &short_d_out;
    const BackwardRunResult r = backend->run_backward(request);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("dO has " + std::to_string(short_d_out.size())) != std::string::npos);
  }
  SUBCASE("an algorithm without a backward pass") {
    request.algorithm = Algorithm::BlockSparse;
    const BackwardRunResult r = backend->run_backward(request);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("naive or flash") != std::string::npos);
  }
  SUBCASE("over the memory budget: refused before allocating, with the bytes it needs by category") {
    request.algorithm = Algorithm::Naive;
    request.memory_budget_bytes = 64 * 1024;
    const BackwardRunResult r = backend->run_backward(request);
    CHECK_FALSE(r.ok);
    CHECK(r.out_of_memory);
    CHECK(r.bytes_needed > r.bytes_free);
    CHECK(r.forward_backward.saved == 4ull * 2 * 64 * 64);
    CHECK(r.error.find("use flash") != std::string::npos);
  }
}

TEST_CASE("the default Backend::run_backward says the backend has none and which to choose") {
  struct NoBackward final : Backend {
    std::string name() const override { return "test"; }
    std::string device_name() const override { return "none"; }
    BackendCapabilities capabilities() const override { return {}; }
    bool supports(Algorithm, const AttentionSpec&, std::string*) const override { return true; }
    RunResult run(const RunRequest&) override { return {}; }
    ScoreImage score_image(const ScoreImageRequest&) override { return {}; }
  } backend;
  const BackwardRunResult r = backend.run_backward(BackwardRequest{});
  CHECK_FALSE(r.ok);
  CHECK(r.error == "the test backend has no backward pass yet; choose the CPU backend");
}

TEST_CASE("run_backward's trace of the flash backward: every K/V tile a task, every Q tile of its group visited") {
  auto backend = make_cpu_backend(2);
  const AttentionSpec spec = training_spec(1, 4, 2, 100, 8, true);
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 8);
  BackwardRequest request;
  request.inputs = &in;
  request.tiles = TileConfig{32, 16};
  request.warmup = 0;
  request.repetitions = 1;
  request.record_trace = true;
  const BackwardRunResult r = backend->run_backward(request);
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.trace.has_value());
  const BackwardTrace& t = *r.trace;
  CHECK(t.tr == 4);  // ceil(100 / 32)
  CHECK(t.tc == 7);  // ceil(100 / 16)
  REQUIRE(t.tasks.size() == static_cast<size_t>(2 * 7));
  int64_t allowed = 0;
  for (const BackwardTaskRecord& task : t.tasks) {
    CHECK(task.visits.size() == static_cast<size_t>(2 * 4));  // the group's two heads × four Q tiles
    for (const BackwardQVisit& v : task.visits) {
      CHECK(v.end_ns >= v.start_ns);
      CHECK(v.head / 2 == task.kv_head);
      allowed += v.pairs;
      // Causal: a Q tile entirely above the K/V tile's first key has no allowed pair.
      if ((v.q_tile + 1) * 32 - 1 < task.kv_tile * 16) CHECK(v.pairs == 0);
    }
  }
  CHECK(allowed == 4 * 100 * 101 / 2);  // every allowed pair of every head, once
}

TEST_CASE("run_backward's FLOPs count the allowed pairs: causal about half of dense, backward 4/2 or 5/2 of forward") {
  auto backend = make_cpu_backend(2);
  auto flops = [&](bool causal, Algorithm a) {
    const AttentionSpec spec = training_spec(1, 2, 2, 128, 16, causal);
    const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 6);
    BackwardRequest request;
    request.algorithm = a;
    request.inputs = &in;
    request.warmup = 0;
    request.repetitions = 1;
    request.want_gradients = false;
    const BackwardRunResult r = backend->run_backward(request);
    REQUIRE_MESSAGE(r.ok, r.error);
    return std::pair{r.forward_flops, r.backward_flops};
  };
  const auto dense = flops(false, Algorithm::Flash), causal = flops(true, Algorithm::Flash);
  CHECK(dense.first == doctest::Approx(4.0 * 2 * 16 * 128 * 128));
  CHECK(causal.first == doctest::Approx(dense.first * (128.0 * 129 / 2) / (128.0 * 128)));
  CHECK(dense.second == doctest::Approx(2.5 * dense.first));
  CHECK(flops(false, Algorithm::Naive).second == doctest::Approx(2.0 * dense.first));
}
