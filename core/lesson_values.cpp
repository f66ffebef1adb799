// lesson_values.cpp — see lesson_values.hpp.
#include "core/lesson_values.hpp"

#include <cmath>
#include <cstdio>

#include "core/backend.hpp"
#include "core/cost_model.hpp"

namespace attnscope {
namespace {

const char* const kExperimentValues[] = {"n", "d", "heads", "kv_heads", "batch", "dtype", "mask"};
const char* const kCalcKeys[] = {"pairs",      "allowed_fraction", "visited_fraction", "flops",
                                 "score_bytes", "score_bytes_all",  "naive_bytes",      "flash_bytes"};
// model_cost() keys shown as bytes or FLOPs, and the preset's own fields.
const char* const kModelCostKeys[] = {"score_bytes_model", "training_saved_bytes_model_naive", "training_saved_bytes_model_flash", "kv_cache_bytes_per_token",
                                      "kv_cache_bytes_model", "attention_flops_per_layer", "attention_flops_model",
                                      "qkv_flops_per_token", "attention_flops_per_token", "mlp_flops_per_token",
                                      "attention_passes_mlp_tokens"};
const char* const kModelFields[] = {"title", "layers", "heads", "kv_heads", "head_dim"};

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fraction < 0.1 ? "%.2f%%" : "%.1f%%", 100.0 * fraction);
  return buf;
}

}  // namespace

std::string format_count(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

LessonVocabulary core_lesson_vocabulary() {
  LessonVocabulary v;
  for (Algorithm a : all_algorithms()) v.algorithms.emplace_back(algorithm_name(a));
  // Beyond attention (issue 20): a run may time these too (Backend::run_linear_attention / run_selective_scan).
  v.algorithms.insert(v.algorithms.end(), std::begin(kSequenceModelRuns), std::end(kSequenceModelRuns));
  for (const ModelPreset& p : model_presets()) v.models.push_back(p.name);
  v.quantities = {"time", "bytes", "memory", "flops", "rate", "bandwidth", "oom", "speedup"};
  v.quantities.insert(v.quantities.end(), std::begin(kTrainingQuantities), std::end(kTrainingQuantities));
  v.experiment_values.assign(std::begin(kExperimentValues), std::end(kExperimentValues));
  v.calc_keys.assign(std::begin(kCalcKeys), std::end(kCalcKeys));
  v.model_keys.assign(std::begin(kModelFields), std::end(kModelFields));
  v.model_keys.insert(v.model_keys.end(), std::begin(kModelCostKeys), std::end(kModelCostKeys));
  return v;
}

std::map<std::string, std::string> computed_lesson_values(const AttentionSpec& spec, const std::string& model) {
  std::map<std::string, std::string> out;
  out["n"] = format_count(spec.kv_len);
  out["d"] = format_count(spec.head_dim);
  out["heads"] = format_count(spec.q_heads);
  out["kv_heads"] = format_count(spec.kv_heads);
  out["batch"] = format_count(spec.batch);
  out["dtype"] = dtype_name(spec.dtype);
  out["mask"] = spec.mask.to_string();

  const TileConfig tiles;
  const PatternStats pattern = pattern_stats(spec, tiles, false);
  const double e = dtype_bytes(spec.dtype);
  const double pairs = static_cast<double>(spec.q_len) * static_cast<double>(spec.kv_len);
  out["calc.pairs"] = format_count(spec.q_len * spec.kv_len);
  out["calc.allowed_fraction"] = percent(pattern.allowed_fraction);
  out["calc.visited_fraction"] = percent(pattern.visited_fraction);
  const AlgorithmCost naive = algorithm_cost(Algorithm::Naive, spec, tiles, pattern);
  const AlgorithmCost flash = algorithm_cost(Algorithm::Flash, spec, tiles, pattern);
  out["calc.flops"] = format_si(naive.flops, "FLOP");
  out["calc.score_bytes"] = format_bytes_binary(pairs * e);
  out["calc.score_bytes_all"] =
      format_bytes_binary(pairs * e * static_cast<double>(spec.q_heads) * static_cast<double>(spec.batch));
  out["calc.naive_bytes"] = format_bytes_binary(naive.hbm_bytes);
  out["calc.flash_bytes"] = format_bytes_binary(flash.hbm_bytes);

  if (const ModelPreset* preset = model.empty() ? nullptr : find_model_preset(model)) {
    ModelCostRequest request;
    request.model = *preset;
    request.tokens = spec.kv_len;
    request.batch = spec.batch;
    request.dtype = spec.dtype;
    const ModelCost cost = model_cost(request);
    out["model.title"] = preset->title;
    out["model.layers"] = format_count(preset->layers);
    out["model.heads"] = format_count(preset->heads);
    out["model.kv_heads"] = format_count(preset->kv_heads);
    out["model.head_dim"] = format_count(preset->head_dim);
    for (const char* key : kModelCostKeys) {
      const double value = cost.value(key);
      if (std::isnan(value)) continue;
      const bool flops = std::string(key).find("flops") != std::string::npos;
      const bool tokens = std::string(key).ends_with("_tokens");
      out[std::string("model.") + key] = flops    ? format_si(value, "FLOP")
                                         : tokens ? format_count(static_cast<int64_t>(std::llround(value)))
                                                  : format_bytes_binary(value);
    }
  }
  return out;
}

}  // namespace attnscope
