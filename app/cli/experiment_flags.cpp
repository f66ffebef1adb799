// experiment_flags.cpp — ExperimentConfig from command-line flags (on top of an optional --config file).
#include "app/cli/experiment_flags.hpp"

#include <limits>
#include <string>
#include <utility>

namespace attnscope::app {

const std::vector<std::string>& experiment_flag_names() {
  static const std::vector<std::string> names = {"--n",    "--d",         "--heads", "--kv-heads", "--batch",
                                                 "--mask", "--causal",    "--generator", "--seed", "--dtype",
                                                 "--show", "--scale",     "--config"};
  return names;
}

const std::vector<std::string>& experiment_boolean_flags() {
  static const std::vector<std::string> names = {"--causal"};
  return names;
}

const char* experiment_flags_help() {
  return "experiment flags (override --config's values):\n"
         "  --config FILE.json      read the experiment from a JSON file (keys: n, head_dim, heads, kv_heads,\n"
         "                          batch, mask, causal, generator, seed, dtype, show, scale)\n"
         "  --n N                   sequence length (queries = keys), 1..1048576    default 1024\n"
         "  --d D                   head dimension, 1..256                          default 64\n"
         "  --heads H               query heads, 1..4096                            default 1\n"
         "  --kv-heads H            key/value heads (H must divide --heads)         default = --heads\n"
         "  --batch B               batch size, 1..65536                            default 1\n"
         "  --mask TEXT             sparsity pattern, terms joined by '+':          default dense\n"
         "                            dense | window:W | window:L,R | strided:S[,B] | dilated:W,S\n"
         "                            random:D[,seed[,block]] | global:G | grid:B:ROWS | causal\n"
         "  --causal[=true|false]   apply causal (k <= q) on top of the mask (=false: off, over --config's)\n"
         "  --generator NAME        gaussian | positional (scores peak near q = k)  default positional\n"
         "  --seed S                input generator seed, 0..2^64-1                 default 1\n"
         "  --dtype T               fp32 | fp16 | bf16                              default fp32\n"
         "  --show s|p              scores S = scale*QK^T, or probabilities P       default s\n"
         "  --scale linear|log      colour scale of the heatmap                     default linear";
}

ConfigResult apply_experiment_flags(Args& args, const ExperimentConfig& base) {
  ConfigResult r;
  r.config = base;
  if (auto path = args.get("--config")) {
    r = load_config_file(*path, base);
    if (!r.errors.empty()) return r;
  }
  ExperimentConfig& c = r.config;
  // Whole numbers in the ranges a config file allows (core/experiment.hpp: integer_settings), parsed with
  // overflow checks: "--n 18446744073709551615" is out of range, never -1.
  for (const IntegerSetting& setting : integer_settings()) {
    const auto text = args.get(setting.flag);
    if (!text) continue;
    std::string error;
    if (auto v = parse_integer(*text, setting.lo, setting.hi, &error)) c.*(setting.field) = *v;
    else r.errors.push_back(std::string(setting.flag) + " " + error);
  }
  if (args.get("--heads") && !args.get("--kv-heads")) c.kv_heads = c.heads;
  if (auto text = args.get("--seed")) {
    std::string error;
    if (auto seed = parse_unsigned(*text, 0, std::numeric_limits<uint64_t>::max(), &error)) c.seed = *seed;
    else r.errors.push_back("--seed " + error);
  }
  // --causal or --causal=true turns it on, --causal=false off (over a config file's "causal": true).
  if (auto causal = args.boolean("--causal")) c.causal = *causal;
  const std::pair<const char*, const char*> text_flags[] = {
      {"--mask", "mask"}, {"--generator", "generator"}, {"--dtype", "dtype"}, {"--show", "show"}, {"--scale", "scale"}};
  for (auto& [flag, key] : text_flags)
    if (auto value = args.get(flag))
      if (auto err = set_text_field(c, key, *value); !err.empty()) r.errors.push_back(std::string(flag) + " " + err);
  r.ok = r.errors.empty();
  return r;
}

}  // namespace attnscope::app
