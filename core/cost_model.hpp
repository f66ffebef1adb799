// cost_model.hpp — what an attention configuration costs: FLOPs, exp count, HBM bytes per algorithm,
// memory footprints (S/P, KV cache, training), and a roofline time prediction. Every value comes with the
// formula it was computed from, with the numbers substituted, so the app and `attnscope cost` can show both.
//
// Notation: B batch, H query heads, Hkv KV heads, Nq query length, Nk key length, d head dim, e bytes per
// element, L layers, ρ the allowed fraction of (query, key) pairs (1 dense, about 1/2 causal).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/spec.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope {

// One computed quantity: value, unit and the formula (symbolic and with numbers substituted).
struct CostLine {
  std::string key;          // machine name, e.g. "qk_flops_per_layer"
  std::string label;        // "QKᵀ FLOPs per layer"
  double value = 0;
  std::string unit;         // "FLOP", "B", "s"
  std::string formula;      // "2·B·H·Nq·Nk·d"
  std::string substituted;  // "2·1·32·4096·4096·128"
};

// Pattern statistics the per-algorithm counts need (block_mask.hpp computes them exactly).
struct PatternStats {
  double allowed_fraction = 1.0;   // ρ: allowed pairs / (Nq·Nk)
  bool allowed_exact = true;       // false: ρ is the expected value of fine random cells (core/allowed_pairs.hpp)
  double visited_fraction = 1.0;   // block-sparse: pairs inside non-empty tiles / (Nq·Nk)
  double gathered_fraction = 1.0;  // gathered: Σ_i rows_i·|keys_i| / (Nq·Nk)
  double kv_tiles_fraction = 1.0;  // block-sparse: non-empty tiles / (Tr·Tc)
  double gathered_keys_per_tile = -1;  // gathered: mean |keys_i| over Q tiles (-1: Nk)
};
// Statistics for the spec's mask with the given tiles: tile kinds O(Tr·Tc), ρ row by row (exact unless random
// cells are too many to visit, see allowed_exact).
PatternStats pattern_stats(const AttentionSpec& spec, const TileConfig& tiles, bool with_gathered);

struct AlgorithmCost {
  double flops = 0;         // multiply-adds counted as 2 FLOPs: QKᵀ and PV over the pairs this algorithm computes
  double exps = 0;          // exp() evaluations
  double hbm_bytes = 0;     // bytes read and written to main memory by the model below
  std::vector<CostLine> lines;  // the breakdown (the naive six steps; flash's Q / K,V / O terms; ...)
};

// FLOPs and bytes of one attention call (all batches and heads) for an algorithm.
// naive:        dense QKᵀ and PV (a GEMM does not skip masked pairs); bytes: the six steps, per query head
//               read Q,K | write S | read S | write P | read P,V | write O
// flash:        pairs in non-empty tiles (all of them for a dense mask; the kernels skip the tiles the block mask
//               marks empty, about half for causal); bytes: Q once, K and V of the non-empty tiles per Q tile, O once
// flash1:       dense; bytes: K and V once, Q and O read and O written once per K/V tile (Tc passes), plus
//               m and l (fp32) read and written per pass
// block-sparse: pairs in non-empty tiles; bytes: Q once, K/V tiles only where non-empty, O once, the block mask
// gathered:     gathered pairs; bytes: Q once, the gathered K/V rows, their int32 indices, O once
// decode:       Nq (usually 1) queries per head; bytes: Q, K and V once per KV head (the group shares it), O
// Counts use spec.dtype for e. K/V traffic is counted per query head for the flash family (each CTA of a
// GQA group loads its KV head itself) and per KV head for decode (the group is processed together).
AlgorithmCost algorithm_cost(Algorithm algorithm, const AttentionSpec& spec, const TileConfig& tiles,
                             const PatternStats& pattern);

// ---- what tiled kernels execute ----
// Kernels that skip the tiles a mask leaves empty (the CUDA flash kernels) compute and read less than the dense
// algorithm above; every backend reports them with these formulas (the CUDA backend calls them, never its own).
// tiled_flash_cost   V visited Br × Bc tiles over all (batch, query head) pairs' Q tiles, counted per query head:
//                    FLOPs 4·B·H·V·Br·Bc·d (whole tiles: a partial tile counts every pair); bytes Q read and O
//                    written once, K and V once per visited tile (Bc rows each), e bytes per element
// schedule_cost      a visit schedule (core/visit_schedule.hpp): FLOPs 4·B·H·Σ_i rows_i·Bc·visits_i (rows_i: the
//                    rows of Q tile i); bytes Q read and O written once, K and V once per visit (Bc rows), e = spec's
AlgorithmCost tiled_flash_cost(const AttentionSpec& spec, int64_t br, int64_t bc, int64_t visited_tiles,
                               double element_bytes);
AlgorithmCost schedule_cost(const AttentionSpec& spec, const VisitSchedule& schedule);

// ---- model presets ----
struct ModelPreset {
  std::string name;       // "llama2-7b"
  std::string title;      // "LLaMA-2 7B"
  std::string source;     // where the numbers come from
  int64_t layers = 0, heads = 0, kv_heads = 0, head_dim = 0, d_model = 0;
  int64_t context = 0;    // trained context length
  std::string mask;       // attention pattern in parse_mask syntax ("causal", "window:4096,0+causal", "dense")
  int64_t mlp_hidden = 0; // the MLP's inner width (ffn)
  bool gated_mlp = false; // SwiGLU: three d_model x ffn matrices (gate, up, down); else two (up, down)
};
const std::vector<ModelPreset>& model_presets();
const ModelPreset* find_model_preset(std::string_view name);

// ---- model-level footprint ----
struct ModelCostRequest {
  ModelPreset model;
  int64_t tokens = 4096;   // N
  int64_t batch = 1;
  DType dtype = DType::F16;
  // Roofline ceilings (0: no prediction).
  double peak_flops = 0, bandwidth = 0;
};

struct ModelCost {
  std::vector<CostLine> lines;
  const CostLine* find(std::string_view key) const;
  double value(std::string_view key) const;  // NaN when absent
};
// Keys: qk_flops_per_layer, pv_flops_per_layer, attention_flops_per_layer, attention_flops_model,
// exps_per_layer, allowed_fraction, score_bytes_per_head, score_bytes_per_layer, score_bytes_model,
// inference_bytes_{naive,flash}_per_layer, training_saved_bytes_{naive,flash}_per_layer,
// training_saved_bytes_model_{naive,flash}, backward_peak_bytes_{naive,flash}_per_layer,
// backward_flops_per_layer_{naive,flash}, kv_cache_bytes_per_token, kv_cache_bytes_per_layer, kv_cache_bytes_model,
// naive_hbm_bytes_per_layer, flash_hbm_bytes_per_layer; with d_model and the MLP width (the layer split, per token
// and layer): {qkv,attention,out_proj,mlp}_flops_per_token, {qkv,attention,out_proj,mlp}_bytes_per_token,
// attention_passes_mlp_tokens; and with ceilings: roofline_naive_s_per_layer, roofline_flash_s_per_layer.
ModelCost model_cost(const ModelCostRequest& request);

// ---- roofline ----
struct RooflinePrediction {
  double seconds = 0;
  double compute_seconds = 0, memory_seconds = 0;
  double intensity = 0;  // FLOPs per byte
  bool memory_bound = false;
};
RooflinePrediction roofline(double flops, double bytes, double peak_flops, double bandwidth);

// "1.37e11" style with 3 significant digits, and engineering forms ("137 GFLOP", "67.1 MB").
std::string format_sci(double x);
std::string format_si(double x, const std::string& unit);

}  // namespace attnscope
