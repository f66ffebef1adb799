// test_lesson_values.cpp — computed placeholder values against hand-worked numbers, and every shipped lesson
// (assets/lessons) loads with the core vocabulary and has every computed placeholder filled.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/lesson_values.hpp"
#include "core/mask.hpp"

using namespace attnscope;

TEST_CASE("lesson values: experiment, cost model and model preset numbers") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 4096;
  spec.head_dim = 128;
  spec.q_heads = spec.kv_heads = 32;
  spec.dtype = DType::F16;
  auto v = computed_lesson_values(spec, "llama2-7b");
  CHECK(v["n"] == "4,096");
  CHECK(v["calc.pairs"] == "16,777,216");
  // 4·H·N²·d = 4·32·4096²·128 = 274,877,906,944 FLOP (QKᵀ and PV, dense).
  CHECK(v["calc.flops"] == "274.9 GFLOP");
  CHECK(v["calc.score_bytes"] == "32.0 MiB");       // 4096² · 2 B
  CHECK(v["calc.score_bytes_all"] == "1.0 GiB");    // · 32 heads
  CHECK(v["calc.allowed_fraction"] == "100.0%");
  CHECK(v["model.layers"] == "32");
  // KV cache per token: 2 (K and V) · 32 layers · 32 KV heads · 128 · 2 B = 524,288 B.
  CHECK(v["model.kv_cache_bytes_per_token"] == "512.0 KiB");
  CHECK(v["model.kv_cache_bytes_model"] == "2.0 GiB");  // · 4096 tokens
  CHECK(format_count(0) == "0");
  CHECK(format_count(-1234567) == "-1,234,567");

  spec.mask = parse_mask("window:64").mask;
  spec.dtype = DType::F32;
  spec.q_len = spec.kv_len = 1024;
  auto w = computed_lesson_values(spec, "");
  CHECK(w.count("model.layers") == 0);
  CHECK(w["mask"] == "window:64");
  // Allowed pairs of window:64 at N = 1024: 1024·129 − 2·(64·65/2) = 127,936 of 1,048,576 = 12.2%.
  CHECK(w["calc.allowed_fraction"] == "12.2%");
}

TEST_CASE("every shipped lesson loads, and its computed placeholders are all filled") {
  const std::filesystem::path dir = std::filesystem::path(ATTNSCOPE_SOURCE_DIR) / "assets" / "lessons";
  REQUIRE(std::filesystem::is_directory(dir));
  const LessonVocabulary vocabulary = core_lesson_vocabulary();
  int lessons = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++lessons;
    LessonLoad load = load_lesson_file(entry.path().string(), vocabulary);
    INFO(entry.path().string(), (load.errors.empty() ? std::string() : ": " + load.errors[0]));
    REQUIRE(load.lesson);
    for (const LessonStep& step : load.lesson->steps) {
      CHECK_FALSE(step.title.empty());
      CHECK_FALSE(parse_narration(step.narration).empty());
      for (const std::string& name : placeholders_in(step.narration)) {
        const std::string head = name.substr(0, name.find('.'));
        if (vocabulary.experiment_values.end() !=
                std::find(vocabulary.experiment_values.begin(), vocabulary.experiment_values.end(), name) ||
            head == "calc" || head == "model") {
          // Computed values exist for every such name (the app builds the spec from step.experiment_json).
          AttentionSpec spec;
          auto values = computed_lesson_values(spec, step.model);
          INFO(step.title, ": {", name, "}");
          CHECK(values.count(name) == 1);
        }
      }
    }
  }
  CHECK(lessons >= 6);
}
