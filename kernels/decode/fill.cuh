// fill.cuh — the decode loop's data on the device: cache rows written through the decode kernel's addressing
// (prefill and append), the sequences' lengths bumped after an append, and the queries. Values are uniform in
// (−√3, √3) (unit variance) from a hash of (seed, sequence, head, position, column): the same token always gets the
// same values whichever layout holds it. Internal to kernels/decode/.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/decode/decode.hpp"

namespace attnscope::kernels::decode {

// Writes rows [begin_pos, end_pos) of every (sequence, KV head) of p.k and p.v.
void fill_rows(const DecodeParams& p, int begin_pos, int end_pos, uint64_t seed, cudaStream_t stream);
// lens[b] += by for every sequence.
void bump_lengths(int32_t* lens, int64_t batch, int by, cudaStream_t stream);
// n query values in `dtype` (fp16 or bf16).
void fill_queries(DType dtype, void* q, int64_t n, uint64_t seed, cudaStream_t stream);

}  // namespace attnscope::kernels::decode
