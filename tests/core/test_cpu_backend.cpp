// test_cpu_backend.cpp — the CPU backend's answers: output of every twin through Backend::run, timings,
// cost-model FLOPs and bytes, allocation, errors as answers (unsupported, invalid, out of memory); the pool.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "core/cost_model.hpp"
#include "core/cpu_backend.hpp"
#include "core/cpu_twins.hpp"
#include "core/thread_pool.hpp"

using namespace attnscope;

TEST_CASE("thread pool runs every task exactly once, on valid workers, job after job") {
  ThreadPool pool(3);
  CHECK(pool.size() == 3);
  for (int job = 0; job < 50; ++job) {
    const int64_t count = job * 7 % 23;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
    std::atomic<bool> bad_worker{false};
    pool.parallel_for(count, [&](int64_t task, int worker) {
      hits[static_cast<size_t>(task)]++;
      if (worker < 0 || worker >= pool.size()) bad_worker = true;
    });
    for (auto& h : hits) CHECK(h.load() == 1);
    CHECK_FALSE(bad_worker.load());
  }
}

TEST_CASE("Backend::run on the CPU: every algorithm's output, timings and cost-model counts") {
  auto backend = make_cpu_backend(2);
  AttentionSpec spec;
  spec.batch = 1; spec.q_heads = 4; spec.kv_heads = 2; spec.q_len = spec.kv_len = 130; spec.head_dim = 16;
  spec.mask = parse_mask("window:30+causal").mask;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 77);
  const ReferenceOutput ref = reference_attention(in);
  for (Algorithm algo : {Algorithm::Reference, Algorithm::Naive, Algorithm::Flash, Algorithm::Flash1,
                         Algorithm::BlockSparse, Algorithm::Gathered}) {
    INFO(std::string(algorithm_name(algo)));
    RunRequest req;
    req.algorithm = algo;
    req.inputs = &in;
    req.repetitions = 3;
    const RunResult r = backend->run(req);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.backend == "cpu");
    CHECK(r.timing.samples_ms.size() == 3);
    CHECK(r.timing.min_ms <= r.timing.median_ms);
    CHECK(r.timing.median_ms <= r.timing.max_ms);
    REQUIRE(r.output.size() == ref.output.size());
    for (size_t e = 0; e < r.output.size(); ++e) CHECK(std::fabs(r.output[e] - ref.output[e]) < 1e-4);
    const AlgorithmCost cost = algorithm_cost(algo, spec, req.tiles, pattern_stats(spec, req.tiles, true));
    CHECK(r.flops == doctest::Approx(cost.flops));
    CHECK(r.bytes_moved == doctest::Approx(cost.hbm_bytes));
    if (algo == Algorithm::Naive) CHECK(r.bytes_allocated >= 2u * 4u * 130u * 130u);  // S and P of one head
    if (algo == Algorithm::Flash) CHECK(r.bytes_allocated < 2u * 4u * 130u * 130u);
  }
  // want_output = false returns no output but still runs.
  RunRequest quiet;
  quiet.algorithm = Algorithm::Flash;
  quiet.inputs = &in;
  quiet.want_output = false;
  const RunResult q = backend->run(quiet);
  CHECK(q.ok);
  CHECK(q.output.empty());
}

TEST_CASE("CPU backend errors are answers") {
  auto backend = make_cpu_backend(1);
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 64;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 1);
  RunRequest req;
  req.inputs = &in;
  req.algorithm = Algorithm::FlashTensorCore;
  RunResult r = backend->run(req);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("no CPU twin") != std::string::npos);
  req.algorithm = Algorithm::Decode;  // q_len 64 is within decode's limit, 65 is not
  AttentionSpec long_q = spec;
  long_q.q_len = long_q.kv_len = 65;
  const AttentionInputs in_long = generate_inputs(long_q, Generator::Gaussian, 2);
  req.inputs = &in_long;
  r = backend->run(req);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("decode") != std::string::npos);
  AttentionInputs broken = in;
  broken.spec.head_dim = 0;
  req.inputs = &broken;
  req.algorithm = Algorithm::Flash;
  r = backend->run(req);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("head dim") != std::string::npos);
  req.inputs = nullptr;
  CHECK_FALSE(backend->run(req).ok);
}

TEST_CASE("naive reports out of memory with bytes needed and free, before allocating") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 1024;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 3);
  ThreadPool pool(1);
  TwinOptions opt;
  opt.memory_limit_bytes = 1 << 20;  // 1 MiB; S and P need 2 · 1024² · 4 bytes = 8 MiB
  std::vector<float> out(static_cast<size_t>(spec.q_elements()));
  const TwinResult r = run_cpu_twin(Algorithm::Naive, in, opt, pool, out.data());
  CHECK_FALSE(r.ok);
  CHECK(r.out_of_memory);
  CHECK(r.bytes_needed == 2ull * 1024 * 1024 * 4);
  CHECK(r.bytes_free == (1u << 20));
  CHECK(r.error.find("use flash") != std::string::npos);
  // Flash needs no N² memory and runs under the same limit.
  CHECK(run_cpu_twin(Algorithm::Flash, in, opt, pool, out.data()).ok);
}

TEST_CASE("Timing: quartiles of the repetitions and the noisy rule (IQR/median > 10% or max/min > 1.3)") {
  // Sorted 10, 11, 12, 13, 14: q at f lies at index f·4 -> q1 = 11, median 12, q3 = 13.
  const Timing steady = Timing::from_samples({14, 10, 12, 13, 11});
  CHECK(steady.q1_ms == doctest::Approx(11));
  CHECK(steady.median_ms == doctest::Approx(12));
  CHECK(steady.q3_ms == doctest::Approx(13));
  CHECK(steady.iqr_ms() == doctest::Approx(2));
  // IQR/median = 2/12 > 10% (and max/min = 1.4 > 1.3): noisy. A tight set fires neither rule.
  CHECK(steady.noisy());
  const Timing tight = Timing::from_samples({100, 101, 102, 100.5, 101.5});
  CHECK_FALSE(tight.noisy());
  CHECK(tight.noisy_text().empty());
  // Quartiles interpolate: 4 samples 1, 2, 3, 4 -> q1 at index 0.75 = 1.75, q3 at index 2.25 = 3.25.
  const Timing four = Timing::from_samples({4, 3, 2, 1});
  CHECK(four.q1_ms == doctest::Approx(1.75));
  CHECK(four.q3_ms == doctest::Approx(3.25));
  // The two runs of the issue (135 and 82 ms): max/min 1.65 > 1.3, too few runs for quartiles.
  const Timing two = Timing::from_samples({135, 82});
  CHECK(two.noisy());
  CHECK(two.noisy_text().find("max 1.6 × min") != std::string::npos);
  CHECK(two.noisy_text().find("other work on the machine?") != std::string::npos);
  // One outlier among many: the range rule fires, the quartiles stay tight.
  const Timing outlier = Timing::from_samples({10, 10, 10.1, 10, 10.2, 10, 20});
  CHECK(outlier.iqr_ms() / outlier.median_ms < kNoisyIqrShare);
  CHECK(outlier.noisy());
  // A single run has no spread: never called noisy.
  CHECK_FALSE(Timing::from_samples({5}).noisy());
}

TEST_CASE("Backend::run on the CPU: block-sparse splits long visit lists by default, not when asked off") {
  auto backend = make_cpu_backend(2);
  CHECK(backend->capabilities().visit_split_default == VisitSplit::Auto);
  AttentionSpec spec;
  spec.batch = 1; spec.q_heads = 2; spec.kv_heads = 1; spec.q_len = spec.kv_len = 1000; spec.head_dim = 8;
  spec.mask = parse_mask("window:32+global:8").mask;  // Q tile 0 visits all 16 tiles, the others about 3
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 78);
  const ReferenceOutput ref = reference_attention(in);
  for (std::optional<VisitSplit> split : {std::optional<VisitSplit>{}, std::optional{VisitSplit::Off}}) {
    RunRequest req;
    req.algorithm = Algorithm::BlockSparse;
    req.inputs = &in;
    req.repetitions = 1;
    req.visit_split = split;
    const RunResult r = backend->run(req);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK((r.kernel.find("split: 1 long Q tile") != std::string::npos) == !split.has_value());
    REQUIRE(r.output.size() == ref.output.size());
    for (size_t e = 0; e < r.output.size(); ++e) CHECK(std::fabs(r.output[e] - ref.output[e]) < 1e-4);
  }
}
