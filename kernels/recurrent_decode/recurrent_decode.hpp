// recurrent_decode.hpp — the recurrent decode step of linear attention and of the selective scan on the GPU
// (issue 20): one new token against a state whose size does not grow with the context, the GPU twin of
// core/beyond_runs.hpp's cpu_recurrent_decode (same states, same formulas, Dskip = 1 for the scan).
//   linear attention, per (batch, KV head):  S += φ(k)vᵀ, z += φ(k)    (kernel 1: rows of S over blocks)
//                     per query head:        o = φ(q)ᵀS / φ(q)ᵀz       (kernel 2: one block per query head)
//   selective scan, per (batch, channel):    h = exp(Δ·A)∘h + Δ·B·x,  y = C·h + x   (one thread each)
// Timed per context with CUDA events; the state is refilled to the size t tokens leave before each context.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace attnscope::kernels {

RecurrentDecodeResult recurrent_decode_cuda(const RecurrentDecodeRequest& request, const std::string& device,
                                            void* stream);

// One step on host arrays, for the tests. Linear attention: s [B·Hkv][d][d], z [B·Hkv][d] updated in place;
// q [B][H][d], k and v [B][Hkv][d]; returns o [B][H][d].
std::vector<float> linear_attention_step_cuda(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                              std::vector<float>& s, std::vector<float>& z, const std::vector<float>& q,
                                              const std::vector<float>& k, const std::vector<float>& v);
// Selective scan: h [B][D][Nst] updated in place; x, delta [B][D]; a [D][Nst]; b, c [B][Nst]; returns y [B][D].
std::vector<float> selective_scan_step_cuda(int64_t batch, int64_t channels, int64_t state, std::vector<float>& h,
                                            const std::vector<float>& x, const std::vector<float>& delta,
                                            const std::vector<float>& a, const std::vector<float>& b,
                                            const std::vector<float>& c);

}  // namespace attnscope::kernels
