// test_scaling_model.cpp — the Scaling mode's model without a display: the initial sweep, and Cancel of a running sweep.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "app/gui/views/scaling/model.hpp"
#include "core/cpu_backend.hpp"
#include "tests/app/models/cuda_like_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("Scaling mode: the initial sweep follows the experiment's shape and caps the CPU") {
  AttentionSpec spec;
  spec.q_heads = spec.kv_heads = 4;
  spec.head_dim = 128;
  spec.dtype = DType::F16;
  const SweepConfig cpu = initial_sweep_config(spec, make_cpu_backend(1)->capabilities(), "window:64");
  CHECK(cpu.heads == 4);
  CHECK(cpu.head_dim == 128);
  CHECK(cpu.dtype == DType::F32);
  CHECK(cpu.lengths.front() == 256);
  CHECK(cpu.lengths.back() == 65536);
  CHECK(cpu.time_cap_s > 0);
  CHECK(cpu.series.back().mask == "window:64");
  CHECK(initial_sweep_config(spec, test::CudaLikeBackend().capabilities(), "window:64").time_cap_s > cpu.time_cap_s);
}

TEST_CASE("Scaling mode: Cancel stops a sweep after the point that is running and keeps what was measured") {
  std::string error;
  ComputeWorker worker(make_cpu_backend(2));
  SweepConfig config = default_sweep_config("window:16");
  config.lengths = sweep_lengths(64, 65536);
  config.time_cap_s = 0;  // uncapped: without Cancel this would run for many minutes
  config.repetitions = 1;
  config.min_timed_s = 0;
  auto live = std::make_shared<SweepLive>();
  worker.submit_task(kSweepChannel, make_sweep_task(config, live));
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::lock_guard lock(live->mutex);
      if (!live->partial.series.empty() && live->partial.series[0].points.size() >= 2) break;
    }
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(worker.task_state(kSweepChannel).running);
  worker.cancel_task(kSweepChannel);
  std::optional<SweepResult> result;
  while (!(result = worker.take_task_result(kSweepChannel))) {
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const SweepResult* sweep = &*result;
  CHECK(sweep->cancelled);
  const auto& naive = sweep->series[0].points;
  REQUIRE(naive.size() == config.lengths.size());  // kept, not dropped
  CHECK(naive[0].status == PointStatus::Measured);
  CHECK(naive[1].status == PointStatus::Measured);
  CHECK(naive.back().status == PointStatus::Cancelled);
  CHECK(worker.idle());
}
