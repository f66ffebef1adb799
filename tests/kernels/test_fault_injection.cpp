// test_fault_injection.cpp — out of device memory at every allocation (kernels/fault_injection.hpp): for each kernel
// family (naive, flash fp32, block-sparse, flash-tc, the score picture, the decode loop) a clean run counts its device
// allocations A; then for k = 1..A the k-th allocation fails as cudaMalloc does on an exhausted device. Each failure
// must come back as a result with out_of_memory set and an "out of device memory" message (never an exception, never
// a crash), free what was allocated, and leave the backend working: the next run gives the clean run's output.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <string>

#include "core/kv_cache.hpp"
#include "kernel_test_util.hpp"
#include "kernels/fault_injection.hpp"

namespace attnscope::test {
namespace {

struct Outcome {
  bool ok = false, out_of_memory = false;
  std::string error;
  std::vector<float> values;  // the output (a run) or the picture (a score image)
};

// Runs `run` once clean, then once with each of its device allocations failing; checks the contract above.
void check_every_allocation_failure(const char* what, const std::function<Outcome()>& run) {
  const std::string family = what;  // CAPTURE of a const char* would print the pointer
  CAPTURE(family);
  kernels::fail_device_allocation_at(0);
  const Outcome clean = run();
  REQUIRE_MESSAGE(clean.ok, clean.error);
  const int64_t allocations = kernels::device_allocations_counted();
  REQUIRE(allocations > 0);  // every family allocates on the device
  const MemoryInfo before = cuda().memory();
  REQUIRE(before.known);
  for (int64_t k = 1; k <= allocations; ++k) {
    CAPTURE(k);
    kernels::fail_device_allocation_at(k);
    const Outcome failed = run();
    CHECK_FALSE(failed.ok);
    CHECK(failed.out_of_memory);
    CHECK_MESSAGE(failed.error.find("out of device memory") != std::string::npos, failed.error);
    CHECK(failed.error.find("injected") != std::string::npos);
    CHECK(kernels::device_allocations_counted() == k);  // it stopped at the failed allocation
  }
  kernels::fail_device_allocation_at(0);
  const Outcome again = run();
  REQUIRE_MESSAGE(again.ok, again.error);
  // Deterministic kernels, same inputs: the backend is as it was. Compared bit for bit, because a picture marks its
  // fully masked cells NaN and NaN != NaN.
  REQUIRE(again.values.size() == clean.values.size());
  CHECK(std::memcmp(again.values.data(), clean.values.data(), clean.values.size() * sizeof(float)) == 0);
  // Nothing leaked: what the failed runs allocated was freed (a small slack for the allocator's granularity).
  const MemoryInfo after = cuda().memory();
  REQUIRE(after.known);
  CHECK(after.free_bytes + (uint64_t{64} << 20) >= before.free_bytes);
}

Outcome from_run(const RunResult& r) { return {r.ok, r.out_of_memory, r.error, r.output}; }

}  // namespace

TEST_CASE("out of device memory at every allocation: each kernel family answers with a message and the backend keeps working") {
  const auto f32 = generate_inputs(make_spec(1, 2, 1, 300, 64, DType::F32, "causal"), Generator::Gaussian, 7);
  const auto sparse = generate_inputs(make_spec(1, 2, 2, 300, 64, DType::F32, "window:32+global:4"), Generator::Gaussian, 8);
  const auto f16 = generate_inputs(make_spec(1, 2, 1, 256, 64, DType::F16, "causal"), Generator::Gaussian, 9);
  check_every_allocation_failure("naive", [&] { return from_run(run(Algorithm::Naive, f32)); });
  check_every_allocation_failure("flash fp32", [&] { return from_run(run(Algorithm::Flash, f32)); });
  check_every_allocation_failure("flash fp32 traced", [&] { return from_run(run(Algorithm::Flash, f32, true, {0, 5})); });
  check_every_allocation_failure("block-sparse", [&] { return from_run(run(Algorithm::BlockSparse, sparse)); });
  check_every_allocation_failure("flash-tc fp16", [&] { return from_run(run(Algorithm::FlashTensorCore, f16)); });
  check_every_allocation_failure("score picture", [&] {
    ScoreImageRequest request;
    request.inputs = &f32;
    request.cells_q = request.cells_k = 64;
    const ScoreImage image = cuda().score_image(request);
    return Outcome{image.ok, image.error.find("out of device memory") != std::string::npos, image.error, image.values};
  });
}

TEST_CASE("out of device memory at every allocation of the decode loop: a message, and the next loop runs") {
  DecodeLoopRequest request;
  request.batch = 2;
  request.q_heads = 8;
  request.kv_heads = 2;
  request.head_dim = 64;
  request.context = 256;
  request.page_tokens = 16;
  request.measure_every = 64;
  check_every_allocation_failure("decode loop", [&] {
    const DecodeLoopResult r = cuda().decode_loop(request);
    return Outcome{r.ok, r.out_of_memory, r.error, {}};
  });
}

}  // namespace attnscope::test
