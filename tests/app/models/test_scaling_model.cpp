// test_scaling_model.cpp — the Scaling mode's model without a display: the initial sweep.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
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
