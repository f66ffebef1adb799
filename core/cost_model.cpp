// cost_model.cpp — see cost_model.hpp. Each count is written once, as a CostLine carrying its formula.
//
// Contents: formatting helpers · pattern_stats · algorithm_cost · presets · model_cost · roofline
#include "core/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/allowed_pairs.hpp"
#include "core/block_mask.hpp"
#include "core/tiles.hpp"

namespace attnscope {

// ---- formatting ---------------------------------------------------------------------------------------------

std::string format_sci(double x) {
  char buf[64];
  if (x == std::floor(x) && std::fabs(x) < 1e7) std::snprintf(buf, sizeof buf, "%.0f", x);
  else std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

std::string format_si(double x, const std::string& unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  int p = 0;
  double v = x;
  while (std::fabs(v) >= 1000.0 && p < 7) { v /= 1000.0; ++p; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s%s", v, prefixes[p], unit.c_str());
  return buf;
}

namespace {

std::string num(double x) {
  char buf[64];
  if (x == std::floor(x) && std::fabs(x) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", x);
  else std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

// "a·b·c" from numbers.
std::string product(std::initializer_list<double> factors) {
  std::string s;
  for (double f : factors) s += (s.empty() ? "" : "·") + num(f);
  return s;
}

CostLine line(std::string key, std::string label, double value, std::string unit, std::string formula,
              std::string substituted) {
  return CostLine{std::move(key), std::move(label), value, std::move(unit), std::move(formula), std::move(substituted)};
}

}  // namespace

// ---- pattern statistics -------------------------------------------------------------------------------------

PatternStats pattern_stats(const AttentionSpec& spec, const TileConfig& tiles, bool with_gathered) {
  PatternStats p;
  const BlockMask bm = build_block_mask(spec, tiles.br, tiles.bc, false);
  const double total = static_cast<double>(bm.stats.total_pairs);
  const AllowedPairs allowed = count_allowed_pattern(spec);
  p.allowed_fraction = allowed.pairs / total;
  p.allowed_exact = allowed.exact;
  p.visited_fraction = static_cast<double>(bm.stats.visited_pairs) / total;
  p.kv_tiles_fraction = bm.stats.tile_density();
  if (with_gathered) {
    const GatheredMask gm = build_gathered_mask(spec, tiles.br);
    p.gathered_fraction = static_cast<double>(gm.gathered_pairs) / total;
    double keys = 0;
    for (auto& k : gm.keys) keys += static_cast<double>(k.size());
    p.gathered_keys_per_tile = keys / static_cast<double>(gm.keys.size());
  }
  return p;
}

// ---- per-algorithm cost -------------------------------------------------------------------------------------

AlgorithmCost algorithm_cost(Algorithm algorithm, const AttentionSpec& s, const TileConfig& tiles,
                             const PatternStats& pattern) {
  AlgorithmCost c;
  const double B = static_cast<double>(s.batch), H = static_cast<double>(s.q_heads);
  const double Hkv = static_cast<double>(s.kv_heads), Nq = static_cast<double>(s.q_len);
  const double Nk = static_cast<double>(s.kv_len), d = static_cast<double>(s.head_dim);
  const double e = dtype_bytes(s.dtype);
  const TileSchedule ts(s.q_len, s.kv_len, tiles.br, tiles.bc);
  const double Tr = static_cast<double>(ts.tr), Tc = static_cast<double>(ts.tc);

  // The fraction of (query, key) pairs this algorithm computes.
  double computed = 1.0;
  std::string fraction_name = "";
  if (algorithm == Algorithm::BlockSparse) { computed = pattern.visited_fraction; fraction_name = "·v"; }
  if (algorithm == Algorithm::Gathered) { computed = pattern.gathered_fraction; fraction_name = "·g"; }
  // The flash kernels (CPU twin, fp32 and tensor-core CUDA) skip the tiles the block mask marks empty: a causal
  // mask halves their work as it does block-sparse's.
  const bool flash_skips = (algorithm == Algorithm::Flash || algorithm == Algorithm::FlashTensorCore) &&
                           pattern.visited_fraction < 1.0;
  if (flash_skips) { computed = pattern.visited_fraction; fraction_name = "·v"; }
  const std::string frac_num = fraction_name.empty() ? "" : "·" + num(computed);

  const double qk = 2 * B * H * Nq * Nk * d * computed;
  c.lines.push_back(line("qk_flops", "QKᵀ FLOPs", qk, "FLOP", "2·B·H·Nq·Nk·d" + fraction_name,
                         product({2, B, H, Nq, Nk, d}) + frac_num));
  c.lines.push_back(line("pv_flops", "PV FLOPs", qk, "FLOP", "2·B·H·Nq·Nk·d" + fraction_name,
                         product({2, B, H, Nq, Nk, d}) + frac_num));
  c.flops = 2 * qk;
  c.exps = B * H * Nq * Nk * computed;
  c.lines.push_back(line("exps", "exp() evaluations", c.exps, "exp", "B·H·Nq·Nk" + fraction_name,
                         product({B, H, Nq, Nk}) + frac_num));

  auto bytes = [&](const char* key, const char* label, double value, const std::string& formula,
                   const std::string& substituted) {
    c.hbm_bytes += value;
    c.lines.push_back(line(key, label, value, "B", formula, substituted));
  };
  switch (algorithm) {
    case Algorithm::Reference:
    case Algorithm::Naive:
      bytes("naive_read_qk", "1 read Q and K", B * H * (Nq + Nk) * d * e, "B·H·(Nq+Nk)·d·e",
            product({B, H}) + "·(" + num(Nq) + "+" + num(Nk) + ")·" + product({d, e}));
      bytes("naive_write_s", "2 write S", B * H * Nq * Nk * e, "B·H·Nq·Nk·e", product({B, H, Nq, Nk, e}));
      bytes("naive_read_s", "3 read S", B * H * Nq * Nk * e, "B·H·Nq·Nk·e", product({B, H, Nq, Nk, e}));
      bytes("naive_write_p", "4 write P", B * H * Nq * Nk * e, "B·H·Nq·Nk·e", product({B, H, Nq, Nk, e}));
      bytes("naive_read_pv", "5 read P and V", B * H * (Nq * Nk + Nk * d) * e, "B·H·(Nq·Nk+Nk·d)·e",
            product({B, H}) + "·(" + product({Nq, Nk}) + "+" + product({Nk, d}) + ")·" + num(e));
      bytes("naive_write_o", "6 write O", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      break;
    case Algorithm::Flash:
    case Algorithm::FlashTensorCore:
      bytes("flash_read_q", "read Q once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      if (flash_skips) {
        const double t = pattern.kv_tiles_fraction;
        bytes("flash_read_kv", "read K and V of non-empty tiles, per Q tile", 2 * B * H * Tr * Nk * d * e * t,
              "2·B·H·Tr·Nk·d·e·t (t = non-empty tile fraction)", product({2, B, H, Tr, Nk, d, e, t}));
      } else {
        bytes("flash_read_kv", "read K and V once per Q tile", 2 * B * H * Tr * Nk * d * e, "2·B·H·Tr·Nk·d·e",
              product({2, B, H, Tr, Nk, d, e}));
      }
      bytes("flash_write_o", "write O once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      break;
    case Algorithm::Flash1:
      bytes("flash1_read_kv", "read K and V once", 2 * B * H * Nk * d * e, "2·B·H·Nk·d·e", product({2, B, H, Nk, d, e}));
      bytes("flash1_read_q", "read Q once per K/V tile", B * H * Tc * Nq * d * e, "B·H·Tc·Nq·d·e",
            product({B, H, Tc, Nq, d, e}));
      bytes("flash1_rw_o", "read and write O once per K/V tile", 2 * B * H * Tc * Nq * d * e, "2·B·H·Tc·Nq·d·e",
            product({2, B, H, Tc, Nq, d, e}));
      bytes("flash1_rw_ml", "read and write m, l (fp32) per K/V tile", 4 * 4 * B * H * Tc * Nq, "4·4·B·H·Tc·Nq",
            product({4, 4, B, H, Tc, Nq}));
      break;
    case Algorithm::BlockSparse: {
      const double t = pattern.kv_tiles_fraction;
      bytes("sparse_read_q", "read Q once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      bytes("sparse_read_kv", "read K and V of non-empty tiles", 2 * B * H * Tr * Nk * d * e * t,
            "2·B·H·Tr·Nk·d·e·t (t = non-empty tile fraction)", product({2, B, H, Tr, Nk, d, e, t}));
      bytes("sparse_read_mask", "read the block mask", B * H * Tr * Tc, "B·H·Tr·Tc", product({B, H, Tr, Tc}));
      bytes("sparse_write_o", "write O once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      break;
    }
    case Algorithm::Gathered: {
      const double G = pattern.gathered_keys_per_tile >= 0 ? pattern.gathered_keys_per_tile : Nk;
      bytes("gathered_read_q", "read Q once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      bytes("gathered_read_kv", "read gathered K and V rows", 2 * B * H * Tr * G * d * e,
            "2·B·H·Tr·G·d·e (G = keys per Q tile)", product({2, B, H, Tr, G, d, e}));
      bytes("gathered_read_index", "read key indices (int32)", 4 * B * H * Tr * G, "4·B·H·Tr·G",
            product({4, B, H, Tr, G}));
      bytes("gathered_write_o", "write O once", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      break;
    }
    case Algorithm::Decode:
      bytes("decode_read_q", "read Q", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      bytes("decode_read_kv", "read the KV cache once per KV head", 2 * B * Hkv * Nk * d * e, "2·B·Hkv·Nk·d·e",
            product({2, B, Hkv, Nk, d, e}));
      bytes("decode_write_o", "write O", B * H * Nq * d * e, "B·H·Nq·d·e", product({B, H, Nq, d, e}));
      break;
  }
  return c;
}

// ---- what tiled kernels execute ----------------------------------------------------------------------------

namespace {

// A tiled kernel's counts from what it computes and reads per query head: `pairs` (query, key) pairs, `kv_rows` rows
// of K and of V; Q read and O written once; e bytes per element. `pairs_formula` / `kv_formula` name the terms.
AlgorithmCost kernel_cost(const AttentionSpec& s, double pairs, double kv_rows, double e, const std::string& pairs_formula,
                          const std::string& kv_formula) {
  AlgorithmCost c;
  const double BH = static_cast<double>(s.batch * s.q_heads), d = static_cast<double>(s.head_dim);
  const double Nq = static_cast<double>(s.q_len);
  const double qk = 2 * BH * pairs * d;
  c.lines.push_back(line("qk_flops", "QKᵀ FLOPs (computed pairs)", qk, "FLOP", "2·B·H·" + pairs_formula + "·d",
                         product({2, BH, pairs, d})));
  c.lines.push_back(line("pv_flops", "PV FLOPs (computed pairs)", qk, "FLOP", "2·B·H·" + pairs_formula + "·d",
                         product({2, BH, pairs, d})));
  c.flops = 2 * qk;
  c.exps = BH * pairs;
  const double qo = 2 * BH * Nq * d * e, kv = 2 * BH * kv_rows * d * e;
  c.lines.push_back(line("tiled_rw_qo", "read Q and write O once", qo, "B", "2·B·H·Nq·d·e", product({2, BH, Nq, d, e})));
  c.lines.push_back(line("tiled_read_kv", "read K and V of each computed block", kv, "B", "2·B·H·" + kv_formula + "·d·e",
                         product({2, BH, kv_rows, d, e})));
  c.hbm_bytes = qo + kv;
  return c;
}

}  // namespace

AlgorithmCost tiled_flash_cost(const AttentionSpec& s, int64_t br, int64_t bc, int64_t visited_tiles,
                               double element_bytes) {
  const double V = static_cast<double>(visited_tiles), Br = static_cast<double>(br), Bc = static_cast<double>(bc);
  return kernel_cost(s, V * Br * Bc, V * Bc, element_bytes, "V·Br·Bc", "V·Bc");
}

AlgorithmCost schedule_cost(const AttentionSpec& s, const VisitSchedule& schedule) {
  double pairs = 0;  // per head: whole blocks, partial ones count every pair
  for (int64_t i = 0; i < schedule.tr; ++i) {
    const int64_t rows = std::min<int64_t>(schedule.br, s.q_len - i * schedule.br);
    pairs += static_cast<double>(rows) * schedule.bc * (schedule.offsets[i + 1] - schedule.offsets[i]);
  }
  const double kv_rows = static_cast<double>(schedule.visits.size()) * schedule.bc;
  return kernel_cost(s, pairs, kv_rows, dtype_bytes(s.dtype), "Σ rows·Bc", "visits·Bc");
}

// ---- presets ------------------------------------------------------------------------------------------------

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = {
      {"bert-base", "BERT-base", "Devlin et al. 2018, BERT, sec. 3 (L=12, H=768, A=12); bidirectional", 12, 12, 12,
       64, 768, 512, "dense", 3072, false},
      {"gpt2-small", "GPT-2 small", "Radford et al. 2019, Table 2 (12 layers, d_model 768); 12 heads, context 1024",
       12, 12, 12, 64, 768, 1024, "causal", 3072, false},
      {"gpt3-175b", "GPT-3 175B", "Brown et al. 2020, Table 2.1 (96 layers, d_model 12288, 96 heads, d_head 128)", 96,
       96, 96, 128, 12288, 2048, "causal", 49152, false},
      {"llama2-7b", "LLaMA-2 7B", "Touvron et al. 2023 (Llama 2), params.json: dim 4096, 32 layers, 32 heads (MHA)", 32,
       32, 32, 128, 4096, 4096, "causal", 11008, true},
      {"llama3-8b", "LLaMA-3 8B", "Meta Llama 3 8B config.json: 32 layers, 32 heads, 8 KV heads (GQA), dim 4096", 32, 32,
       8, 128, 4096, 8192, "causal", 14336, true},
      {"mistral-7b", "Mistral 7B",
       "Jiang et al. 2023, Table 1: 32 layers, 32 heads, 8 KV heads, head_dim 128, window 4096 (i attends i-W..i)", 32,
       32, 8, 128, 4096, 8192, "window:4096,0+causal", 14336, true},
  };
  return presets;
}

const ModelPreset* find_model_preset(std::string_view name) {
  for (auto& p : model_presets())
    if (p.name == name) return &p;
  return nullptr;
}

// ---- model-level cost ---------------------------------------------------------------------------------------

const CostLine* ModelCost::find(std::string_view key) const {
  for (auto& l : lines)
    if (l.key == key) return &l;
  return nullptr;
}
double ModelCost::value(std::string_view key) const {
  const CostLine* l = find(key);
  return l ? l->value : std::numeric_limits<double>::quiet_NaN();
}

RooflinePrediction roofline(double flops, double bytes, double peak_flops, double bandwidth) {
  RooflinePrediction r;
  r.compute_seconds = peak_flops > 0 ? flops / peak_flops : 0;
  r.memory_seconds = bandwidth > 0 ? bytes / bandwidth : 0;
  r.seconds = std::max(r.compute_seconds, r.memory_seconds);
  r.intensity = bytes > 0 ? flops / bytes : 0;
  r.memory_bound = r.memory_seconds > r.compute_seconds;
  return r;
}

ModelCost model_cost(const ModelCostRequest& req) {
  ModelCost mc;
  auto& out = mc.lines;
  const ModelPreset& m = req.model;
  const double B = static_cast<double>(req.batch), H = static_cast<double>(m.heads);
  const double Hkv = static_cast<double>(m.kv_heads), N = static_cast<double>(req.tokens);
  const double d = static_cast<double>(m.head_dim), L = static_cast<double>(m.layers);
  const double e = dtype_bytes(req.dtype);

  AttentionSpec spec;
  spec.batch = req.batch;
  spec.q_heads = m.heads;
  spec.kv_heads = m.kv_heads;
  spec.q_len = spec.kv_len = req.tokens;
  spec.head_dim = m.head_dim;
  spec.dtype = req.dtype;
  if (auto parsed = parse_mask(m.mask); parsed.ok) spec.mask = parsed.mask;
  // Flash traffic depends on Br (K and V are re-read once per Q tile): 128-row Q tiles, as large GPU flash
  // kernels use for the forward pass. The pattern statistics count pairs, so they do not depend on it.
  const TileConfig tiles{128, 64};
  // Only ρ is needed here: counted row by row, without classifying the Tr·Tc tiles (N up to 2^22).
  const AllowedPairs allowed = count_allowed_pattern(spec);
  const double rho = allowed.pairs / (N * N);
  PatternStats pattern;  // naive and flash below compute every pair: only ρ is used
  pattern.allowed_fraction = rho;
  pattern.allowed_exact = allowed.exact;

  const double qk = 2 * B * H * N * N * d;
  out.push_back(line("qk_flops_per_layer", "QKᵀ FLOPs per layer (dense)", qk, "FLOP", "2·B·H·N·N·d",
                     product({2, B, H, N, N, d})));
  out.push_back(line("pv_flops_per_layer", "PV FLOPs per layer (dense)", qk, "FLOP", "2·B·H·N·N·d",
                     product({2, B, H, N, N, d})));
  out.push_back(line("attention_flops_per_layer", "attention FLOPs per layer (dense)", 2 * qk, "FLOP", "4·B·H·N·N·d",
                     product({4, B, H, N, N, d})));
  out.push_back(line("allowed_fraction", "allowed fraction ρ of pairs (" + m.mask + ")", rho, "",
                     "allowed pairs / N²",
                     allowed.exact ? "counted exactly over " + num(N) + "·" + num(N) + " pairs, row by row"
                                   : "expected value over the seeded random cells (too many to visit at N = " +
                                         num(N) + "); the other terms counted exactly"));
  out.push_back(line("attention_flops_per_layer_masked", "attention FLOPs per layer, allowed pairs only", 2 * qk * rho,
                     "FLOP", "4·B·H·N·N·d·ρ", product({4, B, H, N, N, d}) + "·" + num(rho)));
  out.push_back(line("attention_flops_model", "attention FLOPs, all layers (dense)", 2 * qk * L, "FLOP",
                     "4·B·H·N·N·d·L", product({4, B, H, N, N, d, L})));
  out.push_back(line("exps_per_layer", "exp() per layer (dense)", B * H * N * N, "exp", "B·H·N·N",
                     product({B, H, N, N})));
  out.push_back(line("score_bytes_per_head", "S (or P) per head", N * N * e, "B", "N·N·e", product({N, N, e})));
  out.push_back(line("score_bytes_per_layer", "S (or P) per layer", B * H * N * N * e, "B", "B·H·N·N·e",
                     product({B, H, N, N, e})));
  out.push_back(line("score_bytes_model", "S (or P), every layer at once", L * B * H * N * N * e, "B", "L·B·H·N·N·e",
                     product({L, B, H, N, N, e})));
  // Training (issue 19): what the forward pass keeps for the backward pass, and the backward pass's own work.
  // QKVO = Q and O (H heads) and K and V (Hkv heads); lse is fp32 (4 bytes) per query row.
  const double qkvo = B * (2 * H + 2 * Hkv) * N * d * e;
  const std::string qkvo_text = "B·(2·H+2·Hkv)·N·d·e";
  const std::string qkvo_sub = product({B}) + "·(2·" + num(H) + "+2·" + num(Hkv) + ")·" + product({N, d, e});
  out.push_back(line("inference_bytes_naive_per_layer", "forward only, naive: Q, K, V, O, S and P", qkvo + 2 * B * H * N * N * e,
                     "B", qkvo_text + " + 2·B·H·N·N·e", qkvo_sub + " + 2·" + product({B, H, N, N, e})));
  out.push_back(line("inference_bytes_flash_per_layer", "forward only, flash: Q, K, V, O", qkvo, "B", qkvo_text, qkvo_sub));
  out.push_back(line("training_saved_bytes_naive_per_layer", "kept for the backward pass, naive: Q, K, V, O and P",
                     qkvo + B * H * N * N * e, "B", qkvo_text + " + B·H·N·N·e", qkvo_sub + " + " + product({B, H, N, N, e})));
  out.push_back(line("training_saved_bytes_flash_per_layer", "kept for the backward pass, flash: Q, K, V, O and lse",
                     qkvo + B * H * N * 4, "B", qkvo_text + " + B·H·N·4", qkvo_sub + " + " + product({B, H, N, 4})));
  out.push_back(line("training_saved_bytes_model_naive", "kept for the backward pass, every layer, naive",
                     L * (qkvo + B * H * N * N * e), "B", "L·(" + qkvo_text + " + B·H·N·N·e)",
                     num(L) + "·(" + qkvo_sub + " + " + product({B, H, N, N, e}) + ")"));
  out.push_back(line("training_saved_bytes_model_flash", "kept for the backward pass, every layer, flash",
                     L * (qkvo + B * H * N * 4), "B", "L·(" + qkvo_text + " + B·H·N·4)",
                     num(L) + "·(" + qkvo_sub + " + " + product({B, H, N, 4}) + ")"));
  // During one layer's backward pass: the saved tensors, dO, the gradients dQ, dK, dV, and naive's dP and dS
  // (N·N each) or flash's fp32 dQ accumulator and D = rowsum(dO∘O).
  const double grads = B * (2 * H + 2 * Hkv) * N * d * e;  // dO, dQ (H heads), dK, dV (Hkv heads)
  out.push_back(line("backward_peak_bytes_naive_per_layer", "during backward, naive: saved + dO, dQ, dK, dV + dP, dS",
                     qkvo + B * H * N * N * e + grads + 2 * B * H * N * N * e, "B",
                     qkvo_text + " + 3·B·H·N·N·e + B·(2·H+2·Hkv)·N·d·e",
                     qkvo_sub + " + 3·" + product({B, H, N, N, e}) + " + " + qkvo_sub));
  out.push_back(line("backward_peak_bytes_flash_per_layer", "during backward, flash: saved + dO, dQ, dK, dV + fp32 dQ, D",
                     qkvo + B * H * N * 4 + grads + B * H * N * d * 4 + B * H * N * 4, "B",
                     qkvo_text + " + 2·B·H·N·4 + B·(2·H+2·Hkv)·N·d·e + B·H·N·d·4",
                     qkvo_sub + " + 2·" + product({B, H, N, 4}) + " + " + qkvo_sub + " + " + product({B, H, N, d, 4})));
  // FLOPs: naive backward does four N·N·d products (dV = PᵀdO, dP = dO Vᵀ, dQ = dS K, dK = dSᵀQ); flash recomputes
  // S = QKᵀ first: five, against the forward pass's two.
  out.push_back(line("backward_flops_per_layer_naive", "backward FLOPs per layer, naive (4 products)", 4 * qk, "FLOP",
                     "8·B·H·N·N·d", product({8, B, H, N, N, d})));
  out.push_back(line("backward_flops_per_layer_flash", "backward FLOPs per layer, flash (5 products, S recomputed)",
                     5 * qk, "FLOP", "10·B·H·N·N·d", product({10, B, H, N, N, d})));
  out.push_back(line("kv_cache_bytes_per_token", "KV cache per token (all layers)", 2 * L * Hkv * d * e, "B",
                     "2·L·Hkv·d·e", product({2, L, Hkv, d, e})));
  out.push_back(line("kv_cache_bytes_per_layer", "KV cache per layer", 2 * Hkv * d * e * N * B, "B", "2·Hkv·d·e·N·B",
                     product({2, Hkv, d, e, N, B})));
  out.push_back(line("kv_cache_bytes_model", "KV cache, whole model", 2 * L * Hkv * d * e * N * B, "B",
                     "2·L·Hkv·d·e·N·B", product({2, L, Hkv, d, e, N, B})));
  if (Hkv != H)
    out.push_back(line("kv_cache_bytes_model_mha", "KV cache if every head had its own K/V (MHA)",
                       2 * L * H * d * e * N * B, "B", "2·L·H·d·e·N·B", product({2, L, H, d, e, N, B})));

  const AlgorithmCost naive = algorithm_cost(Algorithm::Naive, spec, tiles, pattern);
  const AlgorithmCost flash = algorithm_cost(Algorithm::Flash, spec, tiles, pattern);
  const TileSchedule ts(spec.q_len, spec.kv_len, tiles.br, tiles.bc);
  const double Tr = static_cast<double>(ts.tr);
  out.push_back(line("naive_hbm_bytes_per_layer", "naive attention memory traffic per layer", naive.hbm_bytes, "B",
                     "B·H·(4·N·N + 4·N·d)·e (six steps)", product({B, H}) + "·(4·" + product({N, N}) + "+4·" +
                     product({N, d}) + ")·" + num(e)));
  out.push_back(line("flash_hbm_bytes_per_layer", "flash attention memory traffic per layer (Br=" + std::to_string(tiles.br) + ")",
                     flash.hbm_bytes, "B", "B·H·(2·N·d + 2·Tr·N·d)·e", product({B, H}) + "·(2·" + product({N, d}) +
                     "+2·" + product({Tr, N, d}) + ")·" + num(e)));
  // ---- the layer split (needs d_model and the MLP width): FLOPs and bytes per token of QKV projection, attention,
  // output projection and MLP; weights are read once per call, so their bytes per token are weights / (B·N).
  if (m.d_model > 0 && m.mlp_hidden > 0) {
    const double D = static_cast<double>(m.d_model), F = static_cast<double>(m.mlp_hidden);
    const double mats = m.gated_mlp ? 3 : 2, qkv_w = (H + 2 * Hkv) * d;
    const std::string mats_s = m.gated_mlp ? "3" : "2";
    out.push_back(line("qkv_flops_per_token", "QKV projection FLOPs per token, per layer", 2 * D * qkv_w, "FLOP",
                       "2·d_model·(H + 2·Hkv)·d", "2·" + num(D) + "·(" + num(H) + "+2·" + num(Hkv) + ")·" + num(d)));
    out.push_back(line("attention_flops_per_token", "attention FLOPs per token, per layer (allowed pairs)",
                       4 * rho * N * H * d, "FLOP", "4·ρ·N·H·d", product({4, rho, N, H, d})));
    out.push_back(line("out_proj_flops_per_token", "output projection FLOPs per token, per layer", 2 * H * d * D,
                       "FLOP", "2·H·d·d_model", product({2, H, d, D})));
    out.push_back(line("mlp_flops_per_token", std::string("MLP FLOPs per token, per layer (") +
                                                  (m.gated_mlp ? "SwiGLU" : "two matrices") + ")",
                       2 * mats * D * F, "FLOP", "2·" + mats_s + "·d_model·ffn", product({2, mats, D, F})));
    const double tokens = B * N;
    out.push_back(line("qkv_bytes_per_token", "QKV projection bytes per token, per layer",
                       e * (D * qkv_w / tokens + D + qkv_w), "B", "e·(d_model·(H + 2·Hkv)·d / (B·N) + d_model + (H + 2·Hkv)·d)",
                       num(e) + "·(" + num(D) + "·" + num(qkv_w) + "/" + num(tokens) + "+" + num(D) + "+" + num(qkv_w) + ")"));
    out.push_back(line("attention_bytes_per_token", "attention bytes per token, per layer (flash traffic / (B·N))",
                       flash.hbm_bytes / tokens, "B", "flash_hbm_bytes_per_layer / (B·N)",
                       num(flash.hbm_bytes) + "/" + num(tokens)));
    out.push_back(line("out_proj_bytes_per_token", "output projection bytes per token, per layer",
                       e * (H * d * D / tokens + H * d + D), "B", "e·(H·d·d_model / (B·N) + H·d + d_model)",
                       num(e) + "·(" + product({H, d, D}) + "/" + num(tokens) + "+" + product({H, d}) + "+" + num(D) + ")"));
    out.push_back(line("mlp_bytes_per_token", "MLP bytes per token, per layer",
                       e * (mats * D * F / tokens + 2 * D + 2 * (mats - 1) * F), "B",
                       "e·(" + mats_s + "·d_model·ffn / (B·N) + 2·d_model + 2·(" + mats_s + " − 1)·ffn)",
                       num(e) + "·(" + product({mats, D, F}) + "/" + num(tokens) + "+2·" + num(D) + "+2·" +
                           num(mats - 1) + "·" + num(F) + ")"));
    // 4·ρ·N·H·d = 2·m·d_model·ffn, with this N's ρ (½ for causal at any N, 1 dense; a window's ρ falls with N).
    out.push_back(line("attention_passes_mlp_tokens", "N where attention FLOPs pass the MLP's (ρ of this N)",
                       mats * D * F / (2 * rho * H * d), "tokens", "m·d_model·ffn / (2·ρ·H·d), m = " + mats_s,
                       mats_s + "·" + num(D) + "·" + num(F) + "/(2·" + num(rho) + "·" + num(H) + "·" + num(d) + ")"));
  }
  if (req.peak_flops > 0 && req.bandwidth > 0) {
    for (auto* a : {&naive, &flash}) {
      const bool is_naive = a == &naive;
      const RooflinePrediction r = roofline(a->flops, a->hbm_bytes, req.peak_flops, req.bandwidth);
      out.push_back(line(is_naive ? "roofline_naive_s_per_layer" : "roofline_flash_s_per_layer",
                         std::string(is_naive ? "naive" : "flash") + " predicted time per layer (" +
                             (r.memory_bound ? "memory-bound" : "compute-bound") + ")",
                         r.seconds, "s", "max(FLOPs / peak, bytes / bandwidth)",
                         "max(" + format_sci(a->flops) + " / " + format_sci(req.peak_flops) + ", " +
                             format_sci(a->hbm_bytes) + " / " + format_sci(req.bandwidth) + ")"));
    }
  }
  return mc;
}

}  // namespace attnscope
