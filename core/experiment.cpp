// experiment.cpp — ExperimentConfig: JSON text form and conversion to AttentionSpec.
#include "core/experiment.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace attnscope {

using nlohmann::json;

const char* color_scale_name(ColorScale s) { return s == ColorScale::Linear ? "linear" : "log"; }
const char* score_kind_flag(ScoreKind k) { return k == ScoreKind::Scores ? "s" : "p"; }

namespace {

std::optional<ColorScale> parse_color_scale(std::string_view s) {
  if (s == "linear" || s == "lin") return ColorScale::Linear;
  if (s == "log") return ColorScale::Log;
  return std::nullopt;
}

std::optional<ScoreKind> parse_score_kind(std::string_view s) {
  if (s == "s" || s == "S" || s == "scores") return ScoreKind::Scores;
  if (s == "p" || s == "P" || s == "probabilities") return ScoreKind::Probabilities;
  return std::nullopt;
}

}  // namespace

std::string set_text_field(ExperimentConfig& c, const std::string& key, const std::string& value) {
  if (key == "mask") { c.mask = value; return ""; }
  if (key == "generator") {
    if (auto g = parse_generator(value)) { c.generator = *g; return ""; }
    return "'" + value + "' is not a generator (choose gaussian or positional)";
  }
  if (key == "dtype") {
    if (auto d = parse_dtype(value)) { c.dtype = *d; return ""; }
    return "'" + value + "' is not a dtype (choose fp32, fp16 or bf16)";
  }
  if (key == "show") {
    if (auto k = parse_score_kind(value)) { c.show = *k; return ""; }
    return "'" + value + "' is not a matrix to show (choose s for scores or p for probabilities)";
  }
  if (key == "scale") {
    if (auto s = parse_color_scale(value)) { c.scale = *s; return ""; }
    return "'" + value + "' is not a colour scale (choose linear or log)";
  }
  return "unknown setting";
}

namespace {

int64_t* integer_field(ExperimentConfig& c, const std::string& key) {
  if (key == "n") return &c.n;
  if (key == "head_dim") return &c.head_dim;
  if (key == "heads") return &c.heads;
  if (key == "kv_heads") return &c.kv_heads;
  if (key == "batch") return &c.batch;
  return nullptr;
}

const char* kJsonKeys = "n, head_dim, heads, kv_heads, batch, mask, causal, generator, seed, dtype, show, scale";

}  // namespace

std::string to_json(const ExperimentConfig& c) {
  json j = json::object();
  j["n"] = c.n;
  j["head_dim"] = c.head_dim;
  j["heads"] = c.heads;
  j["kv_heads"] = c.kv_heads;
  j["batch"] = c.batch;
  j["mask"] = c.mask;
  j["causal"] = c.causal;
  j["generator"] = generator_name(c.generator);
  j["seed"] = c.seed;
  j["dtype"] = dtype_name(c.dtype);
  j["show"] = score_kind_flag(c.show);
  j["scale"] = color_scale_name(c.scale);
  return j.dump(2) + "\n";
}

ConfigResult from_json(std::string_view text, const std::string& source, const ExperimentConfig& base) {
  ConfigResult r;
  r.config = base;
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    r.errors.push_back(source + ": malformed JSON (" + e.what() + ")");
    return r;
  }
  if (!j.is_object()) {
    r.errors.push_back(source + ": expected a JSON object {\"n\": 1024, ...}, found " + j.type_name());
    return r;
  }
  ExperimentConfig& c = r.config;
  const bool kv_given = j.contains("kv_heads");
  for (auto& [key, value] : j.items()) {
    const std::string where = source + ": key \"" + key + "\"";
    if (int64_t* field = integer_field(c, key)) {
      if (!value.is_number_integer()) {
        r.errors.push_back(where + " must be an integer, found " + value.dump());
        continue;
      }
      *field = value.get<int64_t>();
    } else if (key == "seed") {
      if (!value.is_number_integer() || (value.is_number_integer() && !value.is_number_unsigned() &&
                                         value.get<int64_t>() < 0)) {
        r.errors.push_back(where + " must be a non-negative integer, found " + value.dump());
        continue;
      }
      c.seed = value.get<uint64_t>();
    } else if (key == "causal") {
      if (!value.is_boolean()) {
        r.errors.push_back(where + " must be true or false, found " + value.dump());
        continue;
      }
      c.causal = value.get<bool>();
    } else if (key == "mask" || key == "generator" || key == "dtype" || key == "show" || key == "scale") {
      if (!value.is_string()) {
        r.errors.push_back(where + " must be a string, found " + value.dump());
        continue;
      }
      if (auto err = set_text_field(c, key, value.get<std::string>()); !err.empty())
        r.errors.push_back(where + ": " + err);
    } else {
      r.errors.push_back(where + " is not a setting (known keys: " + kJsonKeys + ")");
    }
  }
  if (j.contains("heads") && !kv_given) c.kv_heads = c.heads;  // plain multi-head attention by default
  r.ok = r.errors.empty();
  return r;
}

ConfigResult load_config_file(const std::string& path, const ExperimentConfig& base) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    ConfigResult r;
    r.config = base;
    r.errors.push_back("cannot read config file '" + path + "' (does it exist and is it readable?)");
    return r;
  }
  std::stringstream text;
  text << file.rdbuf();
  return from_json(text.str(), path, base);
}

SpecResult to_spec(const ExperimentConfig& c, const SpecLimits& limits) {
  SpecResult r;
  AttentionSpec& s = r.spec;
  s.batch = c.batch;
  s.q_heads = c.heads;
  s.kv_heads = c.kv_heads;
  s.q_len = s.kv_len = c.n;
  s.head_dim = c.head_dim;
  s.dtype = c.dtype;
  MaskParseResult parsed = parse_mask(c.mask);
  if (!parsed.ok) {
    r.errors.push_back("mask '" + c.mask + "': " + parsed.error);
  } else {
    s.mask = std::move(parsed.mask);
    s.mask.causal = s.mask.causal || c.causal;
  }
  for (auto& problem : validate(s, limits)) r.errors.push_back(problem);
  r.ok = r.errors.empty();
  return r;
}

}  // namespace attnscope
