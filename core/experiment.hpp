// experiment.hpp — what the user asked to look at: problem shape, mask, input generator and how to draw it.
// The one description shared by the GUI's control panel, `attnscope render`, the command-line tools and JSON
// config files (the command-line flags that fill it are app/cli/experiment_flags.hpp).
//
// Contents
//   ExperimentConfig         the fields (defaults = what the app opens with)
//   to_json / from_json      JSON text form; errors name the file, key and what is wrong
//   to_spec                  → AttentionSpec, validated against a backend's limits
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend.hpp"
#include "core/reference.hpp"
#include "core/spec.hpp"

namespace attnscope {

enum class ColorScale { Linear, Log };

struct ExperimentConfig {
  int64_t n = 1024;           // sequence length (query length = key length)
  int64_t head_dim = 64;
  int64_t heads = 1;          // query heads
  int64_t kv_heads = 1;       // key/value heads (heads must be a multiple)
  int64_t batch = 1;
  std::string mask = "dense"; // parse_mask text form, e.g. "window:64+global:8"
  bool causal = false;        // applied on top of the mask
  Generator generator = Generator::Positional;
  uint64_t seed = 1;
  DType dtype = DType::F32;
  ScoreKind show = ScoreKind::Scores;  // S (scaled scores) or P (probabilities)
  ColorScale scale = ColorScale::Linear;

  bool operator==(const ExperimentConfig&) const = default;
};

// The whole-number settings with the range each may take in a config file or on the command line (the same for
// both). The ranges are those validate() allows on any backend (core/spec.hpp); a backend may allow less (N's score
// matrix), which to_spec reports.
struct IntegerSetting {
  const char* key;   // JSON key: "n", "head_dim", ...
  const char* flag;  // command-line flag: "--n", "--d", ...
  int64_t lo, hi;
  int64_t ExperimentConfig::*field;
};
const std::vector<IntegerSetting>& integer_settings();

// A config file is a few hundred bytes; anything larger than this is refused unread (with its size).
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

const char* color_scale_name(ColorScale s);  // "linear" | "log"
const char* score_kind_flag(ScoreKind k);    // "s" | "p"

struct ConfigResult {
  bool ok = false;
  ExperimentConfig config;
  std::vector<std::string> errors;  // each names the file/flag/key and the problem
};

// JSON object with every field (keys: n, head_dim, heads, kv_heads, batch, mask, causal, generator, seed,
// dtype, show, scale). Pretty-printed.
std::string to_json(const ExperimentConfig& config);
// Keys may be omitted (they keep base's value); unknown keys, keys given twice, wrong types and values out of range
// (1e400, 2^64, -1, 1.5, "8", null, ...) are errors naming the source, line, key, value and allowed range.
// `source` names the origin in messages ("config.json"). Never throws.
ConfigResult from_json(std::string_view text, const std::string& source, const ExperimentConfig& base = {});
// Reads at most kMaxConfigBytes (a folder, a missing file or a larger one — /dev/zero — is an error naming it).
ConfigResult load_config_file(const std::string& path, const ExperimentConfig& base = {});

// A text-valued setting by its JSON key (mask, generator, dtype, show, scale), shared by the JSON and flag readers:
// returns an error sentence, or "" when `value` was stored.
std::string set_text_field(ExperimentConfig& c, const std::string& key, const std::string& value);

struct SpecResult {
  bool ok = false;
  AttentionSpec spec;
  std::vector<std::string> errors;  // parse_mask's error or validate()'s sentences
};
// Builds the spec (mask parsed by parse_mask, causal applied on top) and validates it against `limits`.
SpecResult to_spec(const ExperimentConfig& config, const SpecLimits& limits);

}  // namespace attnscope
