// test_cost_model.cpp — cost-model values derived by hand from the formulas (never copied from a text),
// per-algorithm byte counts, presets and the roofline.
#include <doctest/doctest.h>

#include <cmath>

#include "core/block_mask.hpp"
#include "core/cost_model.hpp"

using namespace attnscope;

TEST_CASE("LLaMA-2 7B at 4096 tokens in fp16: per-layer QKᵀ FLOPs, KV cache per token and per layer") {
  const ModelPreset* llama = find_model_preset("llama2-7b");
  REQUIRE(llama != nullptr);
  CHECK(llama->layers == 32);
  CHECK(llama->heads == 32);
  CHECK(llama->kv_heads == 32);
  CHECK(llama->head_dim == 128);
  ModelCostRequest req;
  req.model = *llama;
  req.tokens = 4096;
  req.batch = 1;
  req.dtype = DType::F16;
  const ModelCost cost = model_cost(req);
  const double n = 4096, h = 32, d = 128, layers = 32, e = 2;
  // QKᵀ: H matrices of N x N dot products of length d, 2 FLOPs per multiply-add.
  CHECK(cost.value("qk_flops_per_layer") == 2 * h * n * n * d);
  CHECK(cost.value("attention_flops_per_layer") == 4 * h * n * n * d);
  // KV cache: K and V, per layer, per KV head, d values of e bytes, per token.
  CHECK(cost.value("kv_cache_bytes_per_token") == 2 * layers * h * d * e);
  CHECK(cost.value("kv_cache_bytes_per_layer") == 2 * h * d * e * n);
  CHECK(cost.value("kv_cache_bytes_model") == 2 * layers * h * d * e * n);
  CHECK(cost.value("score_bytes_per_head") == n * n * e);
  CHECK(cost.value("score_bytes_per_layer") == h * n * n * e);
  CHECK(cost.value("score_bytes_model") == layers * h * n * n * e);
  // Training: Q, K, V, O (32 heads each here, MHA) plus what each algorithm keeps — P for naive, lse for flash.
  const double qkvo = 4 * h * n * d * e;
  CHECK(cost.value("training_saved_bytes_naive_per_layer") == qkvo + h * n * n * e);
  CHECK(cost.value("training_saved_bytes_flash_per_layer") == qkvo + h * n * 4);
  CHECK(cost.value("training_saved_bytes_model_naive") == layers * (qkvo + h * n * n * e));
  CHECK(cost.value("inference_bytes_flash_per_layer") == qkvo);
  CHECK(cost.value("backward_peak_bytes_naive_per_layer") == qkvo + 3 * h * n * n * e + qkvo);
  CHECK(cost.value("backward_flops_per_layer_flash") == 10 * h * n * n * d);
  CHECK(cost.value("backward_flops_per_layer_naive") == 8 * h * n * n * d);
  // The reading's "training roughly doubles memory" does not hold for naive attention: what it keeps for the
  // backward pass is P for every layer, about L times one forward's peak for a layer.
  CHECK(cost.value("training_saved_bytes_model_naive") / cost.value("inference_bytes_naive_per_layer") > 10);
  // Causal: N(N+1)/2 of N² pairs allowed.
  CHECK(cost.value("allowed_fraction") == doctest::Approx((n + 1) / (2 * n)).epsilon(1e-12));
  // Every line carries its formula with the numbers substituted.
  const CostLine* qk = cost.find("qk_flops_per_layer");
  REQUIRE(qk != nullptr);
  CHECK(qk->substituted == "2·1·32·4096·4096·128");
  CHECK(qk->unit == "FLOP");
}

TEST_CASE("GQA shrinks the KV cache by the group size; batch and dtype scale it") {
  ModelCostRequest req;
  req.model = *find_model_preset("llama3-8b");
  req.tokens = 8192;
  req.batch = 4;
  req.dtype = DType::BF16;
  const ModelCost gqa = model_cost(req);
  const double layers = 32, kvh = 8, d = 128, e = 2, n = 8192, b = 4;
  CHECK(gqa.value("kv_cache_bytes_model") == 2 * layers * kvh * d * e * n * b);
  CHECK(gqa.value("kv_cache_bytes_model_mha") == gqa.value("kv_cache_bytes_model") * 32 / 8);
  req.dtype = DType::F32;
  CHECK(model_cost(req).value("kv_cache_bytes_model") == 2 * gqa.value("kv_cache_bytes_model"));
}

TEST_CASE("Mistral's sliding window: allowed fraction counted exactly") {
  ModelCostRequest req;
  req.model = *find_model_preset("mistral-7b");
  req.tokens = 8192;
  const ModelCost cost = model_cost(req);
  // Row q sees keys max(0, q - 4096) .. q: min(q, 4096) + 1 keys.
  double allowed = 0;
  for (int64_t q = 0; q < 8192; ++q) allowed += static_cast<double>(std::min<int64_t>(q, 4096) + 1);
  CHECK(cost.value("allowed_fraction") == doctest::Approx(allowed / (8192.0 * 8192.0)).epsilon(1e-12));
}

TEST_CASE("per-algorithm bytes: naive six steps, flash Q once / K,V per Q tile / O once, decode per KV head") {
  AttentionSpec s;
  s.batch = 2; s.q_heads = 8; s.kv_heads = 2; s.q_len = s.kv_len = 1000; s.head_dim = 64; s.dtype = DType::F16;
  const TileConfig tiles{128, 64};
  const PatternStats dense;  // all fractions 1
  const double B = 2, H = 8, N = 1000, d = 64, e = 2, Tr = 8 /* ceil(1000/128) */, Tc = 16 /* ceil(1000/64) */;
  const AlgorithmCost naive = algorithm_cost(Algorithm::Naive, s, tiles, dense);
  CHECK(naive.hbm_bytes == B * H * e * (2 * N * d + 4 * N * N + N * d + N * d));
  CHECK(naive.flops == 4 * B * H * N * N * d);
  const AlgorithmCost flash = algorithm_cost(Algorithm::Flash, s, tiles, dense);
  CHECK(flash.hbm_bytes == B * H * e * (N * d + 2 * Tr * N * d + N * d));
  const AlgorithmCost flash1 = algorithm_cost(Algorithm::Flash1, s, tiles, dense);
  CHECK(flash1.hbm_bytes == B * H * (e * (2 * N * d + 3 * Tc * N * d) + 16 * Tc * N));
  AttentionSpec dec = s;
  dec.q_len = 1;
  const AlgorithmCost decode = algorithm_cost(Algorithm::Decode, dec, tiles, dense);
  CHECK(decode.hbm_bytes == e * (B * H * d + 2 * B * 2 * N * d + B * H * d));
  CHECK(decode.flops == 4 * B * H * 1 * N * d);

  // Block-sparse on causal: K/V only of non-empty tiles; FLOPs over the visited pairs.
  s.mask = parse_mask("causal").mask;
  const PatternStats causal = pattern_stats(s, tiles, false);
  const BlockMask bm = build_block_mask(s, tiles.br, tiles.bc, true);
  CHECK(causal.visited_fraction == static_cast<double>(bm.stats.visited_pairs) / (N * N));
  const AlgorithmCost sparse = algorithm_cost(Algorithm::BlockSparse, s, tiles, causal);
  CHECK(sparse.flops == doctest::Approx(4 * B * H * d * static_cast<double>(bm.stats.visited_pairs)));
  CHECK(sparse.hbm_bytes < flash.hbm_bytes);
  // Flash skips the same empty tiles (the kernels do): its FLOPs are block-sparse's, about half of naive's, and its
  // bytes are block-sparse's less the block mask.
  for (Algorithm a : {Algorithm::Flash, Algorithm::FlashTensorCore}) {
    const AlgorithmCost causal_flash = algorithm_cost(a, s, tiles, causal);
    CHECK(causal_flash.flops == doctest::Approx(sparse.flops));
    CHECK(causal_flash.flops < 0.6 * naive.flops);
    CHECK(causal_flash.hbm_bytes == doctest::Approx(sparse.hbm_bytes - B * H * Tr * Tc));
  }
}

TEST_CASE("tiled kernels: visited tiles and visit schedules (the formulas the CUDA flash kernels report)") {
  AttentionSpec s;
  s.batch = 2; s.q_heads = 4; s.kv_heads = 2; s.q_len = s.kv_len = 1000; s.head_dim = 64; s.dtype = DType::F16;
  const double BH = 8, N = 1000, d = 64;
  // Every tile of a dense 1000 x 1000 problem in 64 x 64 tiles: 16 x 16 visited, partial ones counted whole.
  const AlgorithmCost tiled = tiled_flash_cost(s, 64, 64, 256, 4.0);
  CHECK(tiled.flops == 4 * BH * 256 * 64 * 64 * d);
  CHECK(tiled.hbm_bytes == BH * (2 * N * d * 4 + 2 * 256 * 64 * d * 4));
  // A dense schedule of 128 x 64 blocks: 8 Q tiles (the last has 1000 − 7·128 = 104 rows) x 16 visits each.
  const VisitSchedule dense = build_block_sparse_schedule(s, 128, 64);
  const AlgorithmCost full = schedule_cost(s, dense);
  CHECK(dense.visits.size() == size_t{8 * 16});
  CHECK(full.flops == 4 * BH * (7 * 128 + 104) * 16 * 64 * d);
  CHECK(full.hbm_bytes == BH * (2 * N * d * 2 + 2 * 128 * 64 * d * 2));
  // Causal skips the empty blocks: fewer FLOPs and bytes, and at least the dense algorithm's half of the pairs.
  s.mask = parse_mask("causal").mask;
  const AlgorithmCost causal = schedule_cost(s, build_block_sparse_schedule(s, 128, 64));
  CHECK(causal.flops < full.flops);
  CHECK(causal.flops >= 0.5 * algorithm_cost(Algorithm::Flash, s, TileConfig{128, 64}, PatternStats{}).flops);
  CHECK(causal.hbm_bytes < full.hbm_bytes);
}

TEST_CASE("roofline: the larger of compute and memory time") {
  const RooflinePrediction mem = roofline(1e12, 1e12, 1e15, 1e12);
  CHECK(mem.memory_bound);
  CHECK(mem.seconds == doctest::Approx(1.0));
  CHECK(mem.intensity == doctest::Approx(1.0));
  const RooflinePrediction comp = roofline(1e15, 1e9, 1e14, 1e12);
  CHECK_FALSE(comp.memory_bound);
  CHECK(comp.seconds == doctest::Approx(10.0));
}

TEST_CASE("every preset is well-formed and its mask parses") {
  for (auto& p : model_presets()) {
    INFO(p.name);
    CHECK(p.layers > 0);
    CHECK(p.heads % p.kv_heads == 0);
    CHECK(p.heads * p.head_dim == p.d_model);
    CHECK_FALSE(p.source.empty());
    CHECK(parse_mask(p.mask).ok);
  }
}

TEST_CASE("model cost: the layer split per token and where attention's FLOPs pass the MLP's") {
  ModelCostRequest req;
  req.model = *find_model_preset("llama3-8b");  // GQA: 32 query heads, 8 KV heads, SwiGLU 14336
  req.tokens = 8192;
  const ModelCost c = model_cost(req);
  CHECK(c.value("qkv_flops_per_token") == doctest::Approx(2.0 * 4096 * (32 + 2 * 8) * 128));
  CHECK(c.value("out_proj_flops_per_token") == doctest::Approx(2.0 * 32 * 128 * 4096));
  CHECK(c.value("mlp_flops_per_token") == doctest::Approx(2.0 * 3 * 4096 * 14336));
  const double rho = c.value("allowed_fraction");
  CHECK(rho == doctest::Approx(8193.0 / (2 * 8192)));  // causal
  CHECK(c.value("attention_flops_per_token") == doctest::Approx(4 * rho * 8192 * 32 * 128));
  // 4·ρ·N*·H·d = 2·3·d_model·ffn.
  const double n_star = c.value("attention_passes_mlp_tokens");
  CHECK(4 * rho * n_star * 32 * 128 == doctest::Approx(2.0 * 3 * 4096 * 14336));
  // fp16 weights read once per call: the MLP's 3·4096·14336 weights over 8192 tokens, plus its activations.
  CHECK(c.value("mlp_bytes_per_token") == doctest::Approx(2 * (3.0 * 4096 * 14336 / 8192 + 2 * 4096 + 4 * 14336)));
  CHECK(c.find("mlp_flops_per_token")->substituted == "2·3·4096·14336");
  // A model without an MLP width has no split.
  ModelCostRequest bare = req;
  bare.model.mlp_hidden = 0;
  CHECK(model_cost(bare).find("mlp_flops_per_token") == nullptr);
  CHECK(std::isnan(model_cost(bare).value("attention_passes_mlp_tokens")));
}
