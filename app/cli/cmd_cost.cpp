// cmd_cost.cpp — `attnscope cost`: what attention costs for a model preset at N tokens. Every line shows the
// value, its unit and the formula with the numbers substituted (core/cost_model.hpp computes them all).
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/args.hpp"
#include "app/cli/commands.hpp"
#include "core/cost_model.hpp"

namespace attnscope::app {
namespace {

std::string preset_list() {
  std::string s;
  for (auto& p : model_presets()) s += (s.empty() ? "" : ", ") + p.name;
  return s + ", custom";
}

std::string value_text(const CostLine& l) {
  if (l.unit == "B") return format_si(l.value, "B") + " (" + format_bytes_binary(l.value) + ")";
  if (l.unit == "FLOP") return format_si(l.value, "FLOP");
  if (l.unit == "s") {
    std::ostringstream os;
    os << std::setprecision(4) << l.value * 1e3 << " ms";
    return os.str();
  }
  if (l.unit.empty()) {
    std::ostringstream os;
    os << std::setprecision(6) << l.value;
    return os.str();
  }
  return format_si(l.value, l.unit);
}

// Display width in terminal columns: UTF-8 continuation bytes take none.
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}
std::string pad(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return s + std::string(w < width ? width - w : 0, ' ');
}

int run_cost(const std::vector<std::string>& argv) {
  Args args(argv, {"--json", "--gated"});
  const std::string model_name = args.get_or("--model", "");
  const int64_t n = args.get_int("--n", 4096, 1, int64_t{1} << 22);
  const int64_t batch = args.get_int("--batch", 1, 1, 1 << 16);
  const std::string dtype_text = args.get_or("--dtype", "fp16");
  const double peak_tflops = args.get_real("--peak-tflops", 0.0, 0.0, 1e9);
  const double bandwidth_gbs = args.get_real("--bandwidth-gbs", 0.0, 0.0, 1e9);
  // 0 = not given (the presets bring their own); given values must be >= 1.
  const int64_t layers = args.get_int("--layers", 0, 1, 10000), heads = args.get_int("--heads", 0, 1, 4096);
  const int64_t kv_heads = args.get_int("--kv-heads", 0, 1, 4096), head_dim = args.get_int("--head-dim", 0, 1, 1024);
  const int64_t d_model = args.get_int("--d-model", 0, 1, 1 << 20), ffn = args.get_int("--ffn", 0, 1, 1 << 22);
  const std::string mask_text = args.get_or("--mask", "");
  std::vector<std::string> errors = args.errors({"--model", "--n", "--batch", "--dtype", "--json",
                                                 "--peak-tflops", "--bandwidth-gbs", "--layers", "--heads",
                                                 "--kv-heads", "--head-dim", "--mask", "--d-model", "--ffn", "--gated"});
  ModelPreset model;
  if (model_name.empty()) {
    errors.push_back("--model is required (one of: " + preset_list() + ")");
  } else if (model_name == "custom") {
    model.name = "custom";
    model.title = "custom model";
    model.source = "given on the command line";
    model.layers = layers;
    model.heads = heads;
    model.kv_heads = kv_heads > 0 ? kv_heads : heads;
    model.head_dim = head_dim;
    model.d_model = d_model > 0 ? d_model : heads * head_dim;
    model.mlp_hidden = ffn;
    model.gated_mlp = args.has("--gated");
    model.mask = mask_text.empty() ? "causal" : mask_text;
    if (layers < 1 || heads < 1 || head_dim < 1)
      errors.push_back("--model custom needs --layers, --heads and --head-dim (each >= 1; --kv-heads optional)");
    else if (model.heads % model.kv_heads != 0)
      errors.push_back("--heads " + std::to_string(heads) + " is not a multiple of --kv-heads " +
                       std::to_string(model.kv_heads));
  } else if (const ModelPreset* p = find_model_preset(model_name)) {
    model = *p;
    if (!mask_text.empty()) model.mask = mask_text;
    if (layers || heads || kv_heads || head_dim)
      errors.push_back("--layers/--heads/--kv-heads/--head-dim only apply to --model custom");
  } else {
    errors.push_back("unknown model '" + model_name + "' (one of: " + preset_list() + ")");
  }
  if (!model.mask.empty()) {
    auto parsed = parse_mask(model.mask);
    if (!parsed.ok) errors.push_back("--mask '" + model.mask + "': " + parsed.error);
  }
  const auto dtype = parse_dtype(dtype_text);
  if (!dtype) errors.push_back("--dtype '" + dtype_text + "': choose fp16, bf16 or fp32");
  if ((peak_tflops > 0) != (bandwidth_gbs > 0))
    errors.push_back("the roofline needs both --peak-tflops and --bandwidth-gbs");
  if (int rc = report_errors("cost", errors)) return rc;

  ModelCostRequest req;
  req.model = model;
  req.tokens = n;
  req.batch = batch;
  req.dtype = *dtype;
  req.peak_flops = peak_tflops * 1e12;
  req.bandwidth = bandwidth_gbs * 1e9;
  const ModelCost cost = model_cost(req);

  if (args.has("--json")) {
    nlohmann::json j;
    j["model"] = {{"name", model.name}, {"title", model.title}, {"source", model.source}, {"layers", model.layers},
                  {"heads", model.heads}, {"kv_heads", model.kv_heads}, {"head_dim", model.head_dim},
                  {"d_model", model.d_model}, {"mlp_hidden", model.mlp_hidden}, {"gated_mlp", model.gated_mlp},
                  {"mask", model.mask}};
    j["n"] = n;
    j["batch"] = batch;
    j["dtype"] = dtype_name(*dtype);
    j["bytes_per_element"] = dtype_bytes(*dtype);
    for (auto& l : cost.lines) {
      j[l.key] = l.value;
      j["formulas"][l.key] = {{"label", l.label}, {"unit", l.unit}, {"formula", l.formula},
                              {"substituted", l.substituted}};
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << model.title << " — " << model.layers << " layers, " << model.heads << " query heads, "
            << model.kv_heads << " KV heads" << (model.kv_heads == model.heads ? " (MHA)" : model.kv_heads == 1 ? " (MQA)" : " (GQA)")
            << ", head_dim " << model.head_dim << ", mask " << model.mask << "\n"
            << "source: " << model.source << "\n"
            << "N = " << n << " tokens, batch B = " << batch << ", " << dtype_name(*dtype) << " (e = "
            << dtype_bytes(*dtype) << " bytes), H = " << model.heads << ", Hkv = " << model.kv_heads
            << ", d = " << model.head_dim << ", L = " << model.layers << "\n\n";
  size_t width = 0;
  size_t value_width = 0;
  for (auto& l : cost.lines) {
    width = std::max(width, display_width(l.label));
    value_width = std::max(value_width, display_width(value_text(l)));
  }
  for (auto& l : cost.lines)
    std::cout << pad(l.label, width + 2) << pad(value_text(l), value_width) << "  = " << l.formula << " = "
              << l.substituted << "\n";
  return 0;
}

}  // namespace

const Command kCostCommand{
    "cost", "FLOPs, memory traffic, S/P and KV-cache sizes of a model's attention, with formulas",
    "attnscope cost --model NAME --n N [--batch B] [--dtype fp16|bf16|fp32] [--json]\n"
    "  --model NAME        bert-base, gpt2-small, gpt3-175b, llama2-7b, llama3-8b, mistral-7b, or custom\n"
    "                      (custom: --layers L --heads H [--kv-heads K] --head-dim D [--mask SPEC]\n"
    "                      [--d-model M] [--ffn F [--gated]]: the MLP's width for the layer split, SwiGLU)\n"
    "  --n N               tokens, 1..4194304 (default 4096)      --batch B    sequences, 1..65536 (default 1)\n"
    "  --dtype T           fp16 (default), bf16, fp32\n"
    "  --mask SPEC         override the preset's attention pattern (e.g. causal, window:1024,0+causal)\n"
    "  --peak-tflops F --bandwidth-gbs G   device ceilings for a roofline time prediction\n"
    "  --json              machine-readable fields (one per line key, plus their formulas)\n"
    "Every line: value, unit, formula, and the formula with this configuration's numbers substituted. With the MLP's\n"
    "width (presets have it): the layer split per token (QKV, attention, out proj, MLP FLOPs and bytes) and the N\n"
    "where attention's FLOPs pass the MLP's.\n"
    "Exit status: 0 success; 2 usage error (unknown flag or model, bad value).",
    run_cost};

}  // namespace attnscope::app
