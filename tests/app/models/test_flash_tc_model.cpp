// test_flash_tc_model.cpp — flash-tc in the views' models without a display: the closest dtype, the Timing run's
// substitutions, the FlashAttention model on a backend that answers supports() as CUDA does and on the CPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/views/flash/model.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "core/cpu_backend.hpp"
#include "tests/app/models/cuda_like_backend.hpp"
#include "core/reference.hpp"
#include "core/visit_schedule.hpp"

using namespace attnscope;
using namespace attnscope::gui;
using attnscope::test::CudaLikeBackend;

namespace {

TimingRun time_experiment(Backend& backend, DType dtype, int64_t head_dim, const std::string& mask = "causal") {
  ExperimentConfig config;
  config.n = 200;
  config.head_dim = head_dim;
  config.heads = 2;
  config.kv_heads = 2;
  config.mask = mask;
  const SpecResult spec = to_spec(config, backend.limits());
  REQUIRE(spec.ok);
  AttentionSpec s = spec.spec;
  s.dtype = dtype;
  TaskControl control;
  return make_timing_task(config, s, 2, 1)(backend, control);
}

const AlgorithmTiming* find(const TimingRun& run, Algorithm a) {
  for (auto& t : run.algorithms)
    if (t.algorithm == a) return &t;
  return nullptr;
}

}  // namespace

TEST_CASE("closest dtype: the experiment's own first, then fp32 for 16-bit types, fp16 before bf16 from fp32") {
  CHECK(dtype_candidates(DType::F16) == std::vector<DType>{DType::F16, DType::F32, DType::BF16});
  CHECK(dtype_candidates(DType::BF16) == std::vector<DType>{DType::BF16, DType::F32, DType::F16});
  CHECK(dtype_candidates(DType::F32) == std::vector<DType>{DType::F32, DType::F16, DType::BF16});
  CudaLikeBackend backend;
  AttentionSpec spec;
  spec.head_dim = 96;
  spec.dtype = DType::F32;
  // flash-tc at head_dim 96: refused at every dtype; the reason names the dtype and the head_dim.
  const RunDtype tc = choose_run_dtype(backend, Algorithm::FlashTensorCore, spec);
  CHECK_FALSE(tc.ok);
  CHECK(tc.refused.find("fp16 or bf16") != std::string::npos);
  CHECK(tc.refused.find("head dim 64 and 128") != std::string::npos);
  spec.head_dim = 64;
  const RunDtype tc64 = choose_run_dtype(backend, Algorithm::FlashTensorCore, spec);
  CHECK(tc64.ok);
  CHECK(tc64.dtype == DType::F16);
  CHECK(tc64.substituted);
  CHECK(tc64.refused == "flash-tc runs fp16 or bf16");
  const RunDtype flash = choose_run_dtype(backend, Algorithm::Flash, spec);
  CHECK(flash.ok);
  CHECK_FALSE(flash.substituted);
  CHECK(flash.refused.empty());
}

TEST_CASE("Timing run: naive at the experiment's dtype, flash fp32 and flash-tc fp16/bf16 substituted, the rest refused") {
  CudaLikeBackend backend;
  SUBCASE("fp16 experiment") {
    const TimingRun run = time_experiment(backend, DType::F16, 64);
    std::vector<std::string> labels;
    for (auto& a : run.algorithms) {
      INFO(timing_label(a) << ": " << a.error);
      CHECK(a.ok);
      CHECK(a.timing.median_ms > 0);
      labels.push_back(timing_label(a));
      CHECK(backend.ran_at.at(a.algorithm) == a.dtype);  // the backend was given that dtype
    }
    CHECK(labels == std::vector<std::string>{"naive fp16", "flash fp32", "flash-tc fp16", "flash1 fp16", "block-sparse fp32"});
    CHECK_FALSE(find(run, Algorithm::Naive)->dtype_substituted);
    CHECK(find(run, Algorithm::Flash)->dtype_substituted);
    CHECK(find(run, Algorithm::Flash)->dtype_refused == "flash is the fp32 teaching kernel");
    CHECK_FALSE(find(run, Algorithm::FlashTensorCore)->dtype_substituted);
    CHECK(find(run, Algorithm::FlashTensorCore)->kernel.find("flash-tc fp16") == 0);
    CHECK(run.spec.dtype == DType::F16);  // the run is still the fp16 experiment
    CHECK_FALSE(find(run, Algorithm::Flash1)->dtype_substituted);  // FA-1's kernel stores fp16 itself
    REQUIRE(run.not_run.size() == 1);
    CHECK(run.not_run[0] == "gathered: gathered has no CUDA kernel yet");
  }
  SUBCASE("fp32 experiment: flash-tc at fp16") {
    const TimingRun run = time_experiment(backend, DType::F32, 64);
    REQUIRE(find(run, Algorithm::FlashTensorCore));
    CHECK(timing_label(*find(run, Algorithm::FlashTensorCore)) == "flash-tc fp16");
    CHECK(find(run, Algorithm::FlashTensorCore)->dtype_substituted);
    CHECK(timing_label(*find(run, Algorithm::Naive)) == "naive fp32");
    CHECK_FALSE(find(run, Algorithm::Flash)->dtype_substituted);
  }
  SUBCASE("bf16 experiment: flash-tc bf16, flash fp32") {
    const TimingRun run = time_experiment(backend, DType::BF16, 64);
    CHECK(timing_label(*find(run, Algorithm::FlashTensorCore)) == "flash-tc bf16");
    CHECK(timing_label(*find(run, Algorithm::Flash)) == "flash fp32");
    CHECK(backend.ran_at.at(Algorithm::FlashTensorCore) == DType::BF16);
  }
  SUBCASE("head_dim 32: flash-tc is refused at every dtype, with the head dim reason") {
    const TimingRun run = time_experiment(backend, DType::F16, 32);
    CHECK(find(run, Algorithm::FlashTensorCore) == nullptr);
    bool listed = false;
    for (auto& line : run.not_run)
      if (line.rfind("flash-tc: ", 0) == 0) listed = line.find("head dim 64 and 128") != std::string::npos;
    CHECK(listed);
  }
}

TEST_CASE("Timing run on the CPU backend: flash-tc not run (no CPU twin), the twins at the experiment's dtype") {
  auto backend = make_cpu_backend(2);
  const TimingRun run = time_experiment(*backend, DType::F16, 64);
  for (auto& a : run.algorithms) {
    CHECK(a.ok);
    CHECK_FALSE(a.dtype_substituted);
    CHECK(a.dtype == DType::F16);
  }
  CHECK(run.algorithms.size() == 5);
  REQUIRE(run.not_run.size() == 1);
  CHECK(run.not_run[0].find("flash-tc: flash-tc has no CPU twin") == 0);
}

TEST_CASE("FlashAttention view with flash-tc: closest dtype, 128 × 64 tiles, gathered ordinals mapped to their keys") {
  CudaLikeBackend backend;
  FlashViewKey key;
  key.config.n = 600;
  key.config.head_dim = 64;
  key.config.heads = 2;
  key.config.kv_heads = 2;
  key.config.generator = Generator::Gaussian;
  key.config.seed = 11;
  key.order = FlashOrder::TensorCore;
  key.row = 457;
  TaskControl control;
  SUBCASE("causal, fp32 experiment: runs fp16 (naive too), block-sparse schedule") {
    key.config.mask = "causal";
    const auto r = compute_flash_view(backend, control, key, std::nullopt);
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    CHECK(r->spec.dtype == DType::F16);
    CHECK(r->dtype_note.find("flash-tc runs fp16 here") == 0);
    CHECK(r->flash.dtype == DType::F16);
    CHECK(r->naive.dtype == DType::F16);
    CHECK(r->tiles.br == 128);
    CHECK(r->tiles.bc == 64);
    CHECK(r->trace.tr == 5);
    CHECK(r->trace.tc == 10);
    CHECK_FALSE(r->gathered);
    CHECK(r->tile_kinds.size() == 50u);
    CHECK(r->probe_ok);
    CHECK(r->max_abs_diff < 1e-9);
    // The probed row's CTA visits K/V tiles 0..7 (causal: keys ≤ 457 of Q tile 3, rows 384…511).
    REQUIRE(r->replay.probe_visits.size() == 8);
    // FA-1 → FA-3 at the tensor-core kernel's dtype; the FA-2 and FA-3 rows ask flash-tc for mma.sync and ws.
    REQUIRE(r->versions.size() == 3u);
    CHECK(r->versions_dtype == DType::F16);
    CHECK(r->versions[0].run.algorithm == Algorithm::Flash1);
    CHECK(r->versions[0].run.dtype == DType::F16);
    CHECK(r->versions[1].run.algorithm == Algorithm::FlashTensorCore);
    CHECK(r->versions[1].path == TensorCorePath::Mma);
    CHECK(r->versions[2].path == TensorCorePath::WarpSpecialized);
    for (const FlashVersionRow& v : r->versions) {
      CHECK(v.refused.empty());
      CHECK(v.run.ok);
      CHECK(v.run.cost.hbm_bytes > 0);  // every version that ran has its cost-model bytes and FLOPs
      CHECK(v.run.cost.flops > 0);
    }
    CHECK(r->visit_keys(3, 7) == std::vector<int64_t>{448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459, 460,
                                                      461, 462, 463, 464, 465, 466, 467, 468, 469, 470, 471, 472, 473,
                                                      474, 475, 476, 477, 478, 479, 480, 481, 482, 483, 484, 485, 486,
                                                      487, 488, 489, 490, 491, 492, 493, 494, 495, 496, 497, 498, 499,
                                                      500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511});
    // What the menu offers on this backend: FA-1 and flash-tc offered.
    REQUIRE(r->order_refusals.size() == 4);
    CHECK(r->order_refusals[0].empty());
    CHECK(r->order_refusals[1].empty());
    CHECK(r->order_refusals[3].empty());
  }
  SUBCASE("strided: a gathered schedule; the visits' keys are the row's allowed keys, not tiles 0…n") {
    key.config.mask = "strided:16";
    key.config.causal = true;
    const auto r = compute_flash_view(backend, control, key, std::nullopt);
    REQUIRE_MESSAGE(r->error.empty(), r->error);
    REQUIRE(r->gathered);
    const int32_t q_tile = r->row / r->trace.br;
    std::set<int64_t> covered;
    for (const TileVisit& v : r->replay.probe_visits) {
      const std::vector<int64_t> keys = r->visit_keys(q_tile, v.k_tile);
      CHECK_FALSE(keys.empty());
      CHECK(std::is_sorted(keys.begin(), keys.end()));
      covered.insert(keys.begin(), keys.end());
    }
    // Every key the probed row may use was gathered into one of its Q tile's blocks.
    int allowed = 0;
    for (size_t k = 0; k < r->row_scores.size(); ++k)
      if (std::isfinite(r->row_scores[k])) {
        ++allowed;
        CHECK(covered.count(static_cast<int64_t>(k)) == 1);
      }
    CHECK(allowed > 20);
    // Fewer blocks than the row's K/V tiles, and their keys are not the tiles [j·64, (j+1)·64) of the ordinals.
    CHECK(r->replay.probe_visits.size() < static_cast<size_t>((r->row + 64) / 64));
    CHECK(covered.count(457) == 1);  // the diagonal key (strided keeps the own position in its local part)
    CHECK(r->probe_ok);
    CHECK(r->max_abs_diff < 1e-9);
  }
}

TEST_CASE("FlashAttention view on the CPU backend: flash-tc refused with the reason; the menu knows") {
  auto backend = make_cpu_backend(2);
  FlashViewKey key;
  key.config.n = 128;
  key.config.head_dim = 64;
  key.order = FlashOrder::TensorCore;
  TaskControl control;
  const auto r = compute_flash_view(*backend, control, key, std::nullopt);
  CHECK(r->error == "flash-tc has no CPU twin (it is a CUDA kernel)");
  REQUIRE(r->order_refusals.size() == 4);
  CHECK(r->order_refusals[3] == r->error);
  CHECK(r->order_refusals[0].empty());
  FlashViewState view;
  CHECK(view.apply_options("order=flash-tc").empty());
  CHECK(view.order == FlashOrder::TensorCore);
  CHECK(std::string(flash_order_label(FlashOrder::TensorCore)) == "flash (tensor cores)");
}
