// experiment.cpp — ExperimentConfig: JSON text form and conversion to AttentionSpec.
#include "core/experiment.hpp"

#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/json_check.hpp"
#include "core/json_lines.hpp"

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
    return quote_input(value) + " is not a generator (choose gaussian or positional)";
  }
  if (key == "dtype") {
    if (auto d = parse_dtype(value)) { c.dtype = *d; return ""; }
    return quote_input(value) + " is not a dtype (choose fp32, fp16 or bf16)";
  }
  if (key == "show") {
    if (auto k = parse_score_kind(value)) { c.show = *k; return ""; }
    return quote_input(value) + " is not a matrix to show (choose s for scores or p for probabilities)";
  }
  if (key == "scale") {
    if (auto s = parse_color_scale(value)) { c.scale = *s; return ""; }
    return quote_input(value) + " is not a colour scale (choose linear or log)";
  }
  return "unknown setting";
}

const std::vector<IntegerSetting>& integer_settings() {
  const SpecLimits any_backend;
  static const std::vector<IntegerSetting> settings = {
      {"n", "--n", 1, any_backend.max_len, &ExperimentConfig::n},
      {"head_dim", "--d", 1, any_backend.max_head_dim, &ExperimentConfig::head_dim},
      {"heads", "--heads", 1, int64_t{1} << 12, &ExperimentConfig::heads},
      {"kv_heads", "--kv-heads", 1, int64_t{1} << 12, &ExperimentConfig::kv_heads},
      {"batch", "--batch", 1, int64_t{1} << 16, &ExperimentConfig::batch},
  };
  return settings;
}

namespace {

const IntegerSetting* integer_setting(const std::string& key) {
  for (const auto& s : integer_settings())
    if (key == s.key) return &s;
  return nullptr;
}

const char* kJsonKeys = "n, head_dim, heads, kv_heads, batch, mask, causal, generator, seed, dtype, show, scale";

// "" when `v` is a whole number in lo..hi, else "VALUE is not a whole number (allowed: LO..HI)" or "... is out
// of range ...". The JSON value is classified before any conversion, so 2^64, -1 or 1.5 never wrap or truncate.
// `unsigned_range`: the range is 0..2^64-1 (the seed) and lo, hi are ignored.
std::string whole_number_problem(const json& v, int64_t lo, int64_t hi, bool unsigned_range = false) {
  const std::string allowed =
      unsigned_range ? "(allowed: 0.." + std::to_string(std::numeric_limits<uint64_t>::max()) + ")"
                     : "(allowed: " + std::to_string(lo) + ".." + std::to_string(hi) + ")";
  const std::string shown = v.is_string() ? shorten_input(v.dump()) + " (text)" : shorten_input(v.dump());
  bool in_range = false;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    in_range = unsigned_range || (hi >= 0 && u <= static_cast<uint64_t>(hi) && (lo <= 0 || u >= static_cast<uint64_t>(lo)));
  } else if (v.is_number_integer()) {  // a negative whole number
    const int64_t i = v.get<int64_t>();
    in_range = !unsigned_range && i >= lo && i <= hi;
  } else if (v.is_number_float()) {
    const double x = v.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) >= 9007199254740992.0)  // 2^53: typed as an integer
      return shown + " is out of range " + allowed;
    return shown + " is not a whole number " + allowed;
  } else {
    return shown + " is not a whole number " + allowed;
  }
  return in_range ? "" : shown + " is out of range " + allowed;
}

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
  const JsonLines lines(text);
  auto where = [&](const std::string& key) {
    std::string pointer = "/";  // built by appending: GCC 12 misreads "/" + std::string as an overlapping copy
    pointer += json_pointer_token(key);
    return source + ":" + std::to_string(lines.line_of(pointer)) + ": key \"" + key + "\"";
  };
  // A key given twice is an error, by line (nlohmann keeps the last silently). The parser reports the top-level
  // keys as it meets them, so a number too large for a double (1e400) is reported under its key.
  for (std::string& e : lines.duplicate_errors(source)) r.errors.push_back(std::move(e));
  std::string last_key;
  json j;
  try {
    j = json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::key && depth == 1) last_key = parsed.get<std::string>();
      return true;
    });
  } catch (const json::parse_error& e) {
    r.errors.push_back(source + ":" + std::to_string(line_of_offset(text, e.byte)) + ": malformed JSON (" + e.what() +
                       ")");
    return r;
  } catch (const json::exception& e) {  // out_of_range: "number overflow parsing '1e400'"
    const std::string what = e.what();
    const auto open = what.find('\''), close = what.rfind('\'');
    const std::string number = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    std::string allowed;
    if (const IntegerSetting* s = integer_setting(last_key))
      allowed = " (allowed: " + std::to_string(s->lo) + ".." + std::to_string(s->hi) + ")";
    else if (last_key == "seed")
      allowed = " (allowed: 0.." + std::to_string(std::numeric_limits<uint64_t>::max()) + ")";
    r.errors.push_back((last_key.empty() ? source : where(last_key)) + ": " +
                       (number.empty() ? "a number" : number) + " is out of range" + allowed);
    return r;
  }
  if (!r.errors.empty()) return r;
  if (!j.is_object()) {
    r.errors.push_back(source + ": expected a JSON object {\"n\": 1024, ...}, found " + j.type_name());
    return r;
  }
  ExperimentConfig& c = r.config;
  const bool kv_given = j.contains("kv_heads");
  for (auto& [key, value] : j.items()) {
    if (const IntegerSetting* s = integer_setting(key)) {
      if (auto problem = whole_number_problem(value, s->lo, s->hi); !problem.empty()) {
        r.errors.push_back(where(key) + ": " + problem);
        continue;
      }
      c.*(s->field) = value.get<int64_t>();
    } else if (key == "seed") {
      if (auto problem = whole_number_problem(value, 0, 0, /*unsigned_range=*/true);
          !problem.empty()) {
        r.errors.push_back(where(key) + ": " + problem);
        continue;
      }
      c.seed = value.get<uint64_t>();
    } else if (key == "causal") {
      if (!value.is_boolean()) {
        r.errors.push_back(where(key) + " must be true or false, found " + shorten_input(value.dump()));
        continue;
      }
      c.causal = value.get<bool>();
    } else if (key == "mask" || key == "generator" || key == "dtype" || key == "show" || key == "scale") {
      if (!value.is_string()) {
        r.errors.push_back(where(key) + " must be a string, found " + shorten_input(value.dump()));
        continue;
      }
      if (auto err = set_text_field(c, key, value.get<std::string>()); !err.empty())
        r.errors.push_back(where(key) + ": " + err);
    } else {
      r.errors.push_back(where(key) + " is not a setting (known keys: " + kJsonKeys + ")");
    }
  }
  if (j.contains("heads") && !kv_given) c.kv_heads = c.heads;  // plain multi-head attention by default
  r.ok = r.errors.empty();
  return r;
}

ConfigResult load_config_file(const std::string& path, const ExperimentConfig& base) {
  ConfigResult r;
  r.config = base;
  std::string text;
  if (!read_bounded_file(path, kMaxConfigBytes, "config", text, r.errors)) return r;
  return from_json(text, path, base);
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
  // The experiment itself stores no score matrix (the picture is pooled tile by tile; flash, block-sparse and
  // gathered run tile by tile): only an algorithm that materialises S is refused for S's size, when it runs.
  for (auto& problem : validate(s, limits, /*stores_score_matrix=*/false)) r.errors.push_back(problem);
  r.ok = r.errors.empty();
  return r;
}

}  // namespace attnscope
