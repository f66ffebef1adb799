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
