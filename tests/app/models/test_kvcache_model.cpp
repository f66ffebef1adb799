// test_kvcache_model.cpp — the KV cache mode's model without a display: the GQA column, the generation clock, and
// the decode loops run through the task on the CPU backend.
#include <doctest/doctest.h>

#include "app/gui/views/kvcache/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

TEST_CASE("KV cache model: the GQA column and the clock stay within the context") {
  CHECK(gqa_heads(32, 8) == 8);   // the preset's own grouping
  CHECK(gqa_heads(32, 32) == 8);  // MHA preset: the largest divisor up to a quarter
  CHECK(gqa_heads(12, 1) == 3);
  KvViewState s;
  s.context = 100;
  CHECK(tokens_now(s) == 0);  // no loop yet
  set_tokens(s, 250);
  CHECK(tokens_now(s) == 100);
  set_tokens(s, -3);
  CHECK(tokens_now(s) == 0);
}

TEST_CASE("KV cache model: the task runs MHA, GQA and MQA decode loops with their floors") {
  KvViewState s;
  s.heads = 4;
  s.kv_heads = 2;
  s.head_dim = 32;
  s.loop_context = 64;
  auto backend = make_cpu_backend(1);
  TaskControl control;
  const std::string key = task_key(s);
  const auto r = make_kv_task(s, key)(*backend, control);
  REQUIRE(r);
  CHECK(r->key == key);
  REQUIRE(r->runs.size() == 3);
  CHECK(r->runs[0].kv_heads == 4);
  CHECK(r->runs[1].kv_heads == 2);
  CHECK(r->runs[2].kv_heads == 1);
  for (const KvLayoutRun& run : r->runs) {
    CHECK(run.context.size() == run.ms.size());
    CHECK(run.floor_ms.size() == run.ms.size());
  }
}

TEST_CASE("KV cache model: the CPU backend's copy bandwidth is measured once a session, then reused") {
  KvViewState s;
  s.heads = 2;
  s.kv_heads = 1;
  s.head_dim = 16;
  s.loop_context = 32;
  auto backend = make_cpu_backend(1);
  TaskControl control;
  const auto first = make_kv_task(s, task_key(s))(*backend, control);
  REQUIRE(first);
  REQUIRE(first->bandwidth_gbs > 0);       // the CPU loop measures none alongside: the backend's ceiling is asked
  CHECK(first->bandwidth_measured_now);
  s.session_copy_gbs = first->bandwidth_gbs * 1.5;  // what the view kept from the first run (scaled to recognise it)
  const auto second = make_kv_task(s, task_key(s))(*backend, control);
  REQUIRE(second);
  CHECK_FALSE(second->bandwidth_measured_now);
  CHECK(second->bandwidth_gbs == doctest::Approx(first->bandwidth_gbs * 1.5));
  CHECK(second->bandwidth_source.find("earlier in this session") != std::string::npos);
  for (const KvLayoutRun& run : second->runs)  // the floors use the kept figure
    for (size_t i = 0; i < run.floor_ms.size(); ++i) CHECK(run.floor_ms[i] > 0);
}

TEST_CASE("KV cache model: a measurement is labelled with the cache the backend stored, not the dtype asked") {
  KvViewState s;
  s.heads = 2;
  s.kv_heads = 1;
  s.head_dim = 16;
  s.loop_context = 32;
  s.dtype = DType::F16;  // asked; the CPU twin stores fp32
  s.page_index = 0;      // 16-token pages
  auto backend = make_cpu_backend(1);
  TaskControl control;
  const auto r = make_kv_task(s, task_key(s))(*backend, control);
  REQUIRE(r);
  const std::string label = kv_measurement_label(*r);
  CHECK(label.find("CPU backend") != std::string::npos);
  CHECK(label.find("fp32") != std::string::npos);
  CHECK(label.find("fp16 asked") != std::string::npos);
  CHECK(label.find("16-token pages") != std::string::npos);
  CHECK(label.find("fp16 cache") == std::string::npos);  // never claims the asked dtype was measured
  // A backend that stores what was asked: no "asked" note.
  KvRunResult same;
  same.backend = "cuda";
  same.storage = "bf16";
  same.asked_dtype = DType::BF16;
  same.page_tokens = 0;
  CHECK(kv_measurement_label(same) == "CUDA backend, bf16 cache, contiguous");
}

TEST_CASE("KV cache model: each timed decode step keeps its repetitions, min ≤ median ≤ max, for the error bars") {
  KvViewState s;
  s.heads = 2;
  s.kv_heads = 1;
  s.head_dim = 16;
  s.loop_context = 48;
  auto backend = make_cpu_backend(1);
  TaskControl control;
  const auto r = make_kv_task(s, task_key(s))(*backend, control);
  REQUIRE(r);
  for (const KvLayoutRun& run : r->runs) {
    REQUIRE(run.loop.ok);
    REQUIRE(run.timing.size() == run.ms.size());
    REQUIRE(run.ms_below.size() == run.ms.size());
    REQUIRE(run.ms_above.size() == run.ms.size());
    for (size_t i = 0; i < run.ms.size(); ++i) {
      CHECK(run.timing[i].samples_ms.size() == 3);  // the task's repetitions, every one kept
      CHECK(run.timing[i].min_ms <= run.ms[i]);
      CHECK(run.ms[i] <= run.timing[i].max_ms);
      CHECK(run.ms_below[i] == doctest::Approx(run.ms[i] - run.timing[i].min_ms));
      CHECK(run.ms_above[i] == doctest::Approx(run.timing[i].max_ms - run.ms[i]));
    }
  }
}
