// experiment_flags.cpp — ExperimentConfig from command-line flags (on top of an optional --config file).
#include "app/cli/experiment_flags.hpp"

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
         "  --n N                   sequence length (queries = keys)                 default 1024\n"
         "  --d D                   head dimension                                  default 64\n"
         "  --heads H               query heads                                     default 1\n"
         "  --kv-heads H            key/value heads (H must divide --heads)         default = --heads\n"
         "  --batch B               batch size                                      default 1\n"
         "  --mask TEXT             sparsity pattern, terms joined by '+':          default dense\n"
         "                            dense | window:W | window:L,R | strided:S[,B] | dilated:W,S\n"
         "                            random:D[,seed[,block]] | global:G | grid:B:ROWS | causal\n"
         "  --causal                apply causal (k <= q) on top of the mask\n"
         "  --generator NAME        gaussian | positional (scores peak near q = k)  default positional\n"
         "  --seed S                input generator seed                            default 1\n"
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
  auto read_int = [&](const char* flag, int64_t& field) {
    if (!args.has(flag)) return;
    const std::string text = *args.get(flag);
    int64_t v = 0;
    size_t used = 0;
    try {
      v = std::stoll(text, &used);
    } catch (...) { used = 0; }
    if (used == 0 || used != text.size()) {
      r.errors.push_back(std::string(flag) + " '" + text + "' is not an integer");
      return;
    }
    field = v;
  };
  read_int("--n", c.n);
  read_int("--d", c.head_dim);
  read_int("--heads", c.heads);
  if (args.has("--heads") && !args.has("--kv-heads")) c.kv_heads = c.heads;
  read_int("--kv-heads", c.kv_heads);
  read_int("--batch", c.batch);
  if (args.has("--seed")) {
    int64_t seed = 0;
    read_int("--seed", seed);
    if (seed < 0) r.errors.push_back("--seed " + std::to_string(seed) + ": must be >= 0");
    else c.seed = static_cast<uint64_t>(seed);
  }
  if (args.has("--causal")) c.causal = true;
  const std::pair<const char*, const char*> text_flags[] = {
      {"--mask", "mask"}, {"--generator", "generator"}, {"--dtype", "dtype"}, {"--show", "show"}, {"--scale", "scale"}};
  for (auto& [flag, key] : text_flags)
    if (auto value = args.get(flag))
      if (auto err = set_text_field(c, key, *value); !err.empty()) r.errors.push_back(std::string(flag) + " " + err);
  r.ok = r.errors.empty();
  return r;
}

}  // namespace attnscope::app
