// linear_attention.hpp — linear attention (φ = elu + 1) on the GPU, issue 20: the CUDA twin of
// core/linear_attention.hpp, whose header gives the math. Q, K, V and O are stored in spec.dtype (fp32, fp16 or bf16);
// the state S (d×d), z (d), the feature products and every sum are fp32.
//
// Non-causal, per (batch, KV head):
//   1. S = Σⱼ φ(kⱼ) vⱼᵀ and z = Σⱼ φ(kⱼ): blocks own 32 rows of S and a slice of the keys, sum in registers and add
//      their partial sums into S and z with atomics (fp32; the order of the additions varies from run to run).
//   2. Every query of the group: Oᵢ = φ(qᵢ)ᵀS / φ(qᵢ)ᵀz, 16 queries per block, S read through L2.
// Causal, chunks of C keys, per (batch, KV head):
//   1. Each chunk's own ΔS_c and Δz_c, all chunks at once (no atomics: a block owns a chunk's rows).
//   2. An exclusive prefix sum over the chunks, in place: slot c then holds the state of every key before chunk c.
//   3. Queries, one chunk per block: φ(q)ᵀS_c from the slot, plus the chunk's own keys up to the query's position
//      (weights w = φ(q)·φ(kⱼ) for 16 queries × the chunk's keys in shared memory), normalised by the same sums.
// Workspace: non-causal B·Hkv·(d² + d) floats; causal B·Hkv·chunks·(d² + d) floats (chunks = ⌈N/C⌉).
#pragma once
#include <cstdint>
#include <string>

#include "core/backend.hpp"

namespace attnscope::kernels {

constexpr int64_t kLinearAttentionMaxHeadDim = 256;

// "" when the CUDA kernels run this spec (linear_attention_unsupported's rules, head dim ≤ 256), else why not.
std::string linear_attention_cuda_unsupported(const AttentionSpec& spec);

// Device bytes the run allocates beyond Q, K, V and O (the states).
uint64_t linear_attention_cuda_workspace_bytes(const AttentionSpec& spec, int64_t chunk);

// Uploads, runs (warm-up, then timed repetitions with CUDA events), downloads O when asked. `stream`: a
// cudaStream_t. CUDA failures come back as SequenceRunResult::error (out_of_memory when an allocation failed).
SequenceRunResult run_linear_attention_cuda(const LinearAttentionRunRequest& request, const std::string& device,
                                            void* stream);

}  // namespace attnscope::kernels
