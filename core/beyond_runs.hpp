// beyond_runs.hpp — the CPU side of Backend's beyond-attention calls (issue 20): timed runs of linear attention and
// the selective scan, the recurrent decode step against the context, and one transformer block's parts. Backend's
// defaults call these on a process-wide pool; the CPU backend calls them on its own pool.
//
// Counts (multiply-add = 2 FLOPs; exp counted as one FLOP; e = 4, the twins' fp32):
//   linear attention, non-causal   FLOPs 2·B·N·d²·(Hkv + H) + 2·B·H·N·d
//                                  (S += φ(k)vᵀ per key and KV head; φ(q)ᵀS and φ(q)ᵀz per query)
//   linear attention, causal C     FLOPs B·H·N·(4·d² + 2·d·(C + 1) + 2·d)
//                                  (state read and update per token, per query head; the chunk's own keys: on
//                                   average (C + 1)/2 of them at 4·d each)
//   bytes (both)                   e·(2·B·H·N·d + 2·B·Hkv·N·d): Q read, O written, K and V read
//   selective scan, chunked        FLOPs 9·B·L·D·Nst (exp, decay, input, output per step and state; the chunk
//                                  pass re-applies the entering state: 3 more)
//   bytes                          e·(3·B·L·D + 2·B·L·Nst): x, Δ read, y written, B and C read
#pragma once
#include "core/backend.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

double linear_attention_flops(const AttentionSpec& spec, int64_t chunk);
double linear_attention_bytes(const AttentionSpec& spec);
double selective_scan_flops(const ScanShape& shape);
double selective_scan_bytes(const ScanShape& shape);
// fp32 state of one layer: B·Hkv·(d² + d)·4 (linear attention), B·D·Nst·4 (scan).
uint64_t linear_attention_state_bytes(int64_t batch, int64_t kv_heads, int64_t head_dim);
uint64_t selective_scan_state_bytes(int64_t batch, int64_t channels, int64_t state);

SequenceRunResult cpu_run_linear_attention(const LinearAttentionRunRequest& request, ThreadPool& pool,
                                           const std::string& device);
SequenceRunResult cpu_run_selective_scan(const SelectiveScanRunRequest& request, ThreadPool& pool,
                                         const std::string& device);
RecurrentDecodeResult cpu_recurrent_decode(const RecurrentDecodeRequest& request, ThreadPool& pool,
                                           const std::string& device);
// The attention part's spec: (B, H, Hkv, N, d) of the block, causal or not, in its dtype.
AttentionSpec layer_attention_spec(const LayerTimingRequest& request);
// The GEMMs on `pool`; the attention part through backend.run (so a GPU backend's kernel times attention).
LayerTimingResult cpu_time_layer(const LayerTimingRequest& request, Backend& backend, ThreadPool& pool);

// FLOPs of the parts of LayerTimingRequest (kLayerParts' order): 2·BN·d_model·(H + 2Hkv)·d; attention 4·B·H·N²·d·ρ
// (ρ = (N + 1)/(2N) causal, 1 otherwise); 2·BN·H·d·d_model; MLP 2·BN·d_model·ffn·(3 gated, 2 otherwise).
std::vector<double> layer_part_flops(const LayerTimingRequest& request);

}  // namespace attnscope
