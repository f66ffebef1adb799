// decode_quant.hpp — the decode kernel over a quantised KV cache (fp8 e4m3 or int8 codes with per-group fp32 scales,
// the open group staged at fp16: core/kv_quant.hpp, QuantKvStore in core/kv_cache.hpp). Host interface only (no
// CUDA headers); the kernels are in decode_quant.cu.
//
//   decode kernel  grid (split, KV head, sequence), 4 warps. Each warp takes query heads of the CTA's group in turn;
//                  its lanes hold d/32 elements of q, of the running output and of each cached row. A row is loaded
//                  as bytes (one per element, a warp reads 32 adjacent bytes per step), dequantised in registers
//                  (code -> value by the format's bit layout, times the group's scale), or read at fp16 from the
//                  staging block when the token is in the open group. Online softmax per token in fp32; each split
//                  writes its (m, l, acc) to the partials.
//   merge kernel   per (sequence, query head, element): O = Σ_s acc_s e^(m_s − M) / Σ_s l_s e^(m_s − M), M = max m_s.
// The cache is addressed through the block table only: a contiguous cache is a store with one page of `capacity`
// tokens per sequence (QuantKvStore's contiguous form), so one load path serves both.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/kv_cache.hpp"
#include "kernels/device_info.hpp"

namespace attnscope::kernels {

struct DecodeQuantHostResult {
  bool ok = false;
  std::string error;
  std::vector<float> output;  // [batch][q_heads][d]; the device output was poisoned with NaN first
  int splits = 1;             // splits launched
};

// Uploads `store` as it is laid out (codes, scales, the fp16 staging block, the block table, the lengths), decodes
// one fp32 query per (sequence, head) — q is [batch][q_heads][d] — and returns the output. splits 0: planned from
// the lengths and the SM count (core's plan_decode_splits over 64-token tiles). head_dim must be 32..256, a multiple
// of 32. Failures (bad shape, CUDA errors) come back in `error`.
DecodeQuantHostResult run_decode_quant_host(const QuantKvStore& store, const std::vector<float>& q, int64_t q_heads,
                                            double scale, int splits = 0);

// The decode loop (kv_cache.hpp) with a quantised cache, behind CudaBackend::decode_loop when request.kv_dtype is
// fp8 or int8. The tokens are appended and quantised on the host (QuantKvStore, as the CPU twin does; the same seed
// gives the same tokens) and the changed bytes uploaded: each token's fp16 staging rows, and a group's codes and
// scales when it closes; the decode runs on the device, timed as request.options.timing says (median of the
// repetitions), beside the copy bandwidth measured in the same call. The last step's output is compared with the CPU
// twin's decode of an fp16 cache of the same tokens (DecodeLoopResult::error_*). Append times are host times.
DecodeLoopResult run_decode_loop_quant_cuda(const DecodeLoopRequest& request, const DeviceInfo& device, void* stream);

}  // namespace attnscope::kernels
