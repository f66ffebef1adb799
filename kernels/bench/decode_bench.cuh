// decode_bench.cuh — the harness `attnscope decode` measures the decode kernel with, kept apart from the kernel:
//   L2 flush        a kernel that streams a buffer of 4x the L2 size before each timed decode (DecodeTiming::Device)
//   timing          decode_times: milliseconds per decode, device time (L2 flushed first) or launch time
//   read reference  read-only kernels over as many bytes as a decode reads (DecodeReadReference): the "read" GB/s
//   timelines       per-CTA timeline rows of an instrumented decode appended to a CSV file
//   copy bandwidth  a device-to-device cudaMemcpy, (read + written bytes) / time
// Internal to kernels/ (CUDA types); the options it takes are core's (core/decode_options.hpp).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/decode_options.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/decode/decode.hpp"

namespace attnscope::kernels::bench {

// Bytes of the L2 flush buffer: 4x the L2 size, at least 64 MiB.
uint64_t l2_flush_bytes(const DeviceInfo& device);
// Streams `flush` through L2 (after it, L2 holds clean lines of this buffer only).
void flush_l2(DeviceBuffer& flush, unsigned* sink, int sm_count, cudaStream_t stream);

// Milliseconds per decode (`warmup` untimed first).
//   Device  before each timed decode the L2 flush runs: the decode starts with none of the cache in L2 and no dirty
//           lines to write back, and the GPU is still busy with the flush while the host enqueues the decode, so the
//           start event fires when the GPU reaches the decode: the interval is the decode's own GPU time (its
//           kernels and the gap between them).
//   Launch  each decode between two events on an idle GPU; the interval also holds the host's launch latency.
template <class F>
std::vector<double> decode_times(DecodeTiming timing, cudaStream_t stream, DeviceBuffer& flush, unsigned* sink,
                                 int sm_count, int warmup, int repetitions, F&& launch) {
  if (timing == DecodeTiming::Launch) return EventTimer().time(stream, warmup, repetitions, launch);
  for (int i = 0; i < warmup; ++i) launch();
  EventPair events;
  std::vector<double> samples;
  for (int i = 0; i < std::max(1, repetitions); ++i) {
    flush_l2(flush, sink, sm_count, stream);
    CUDA_CHECK(cudaEventRecord(events.start, stream));
    launch();
    CUDA_CHECK(cudaEventRecord(events.stop, stream));
    CUDA_CHECK(cudaEventSynchronize(events.stop));
    samples.push_back(events.elapsed_ms());
  }
  return samples;
}

// Launches the read-only reference `how` over `words` 16-byte words of each of a and b. Throws
// std::invalid_argument when the device cannot run it (ring: sm_90 and the ring within a block's shared memory).
void launch_read_reference(const DecodeReadReference& how, const DeviceInfo& device, const uint4* a, const uint4* b,
                           int64_t words, unsigned* sink, cudaStream_t stream);

// Appends the timeline rows of one instrumented decode (`words`: DecodeParams::timeline copied to the host) to the
// CSV file `path` (times in ns from the earliest entry; scripts/decode_timeline.py reads it).
void append_decode_timeline(const std::string& path, const std::string& label, const DecodeLaunchPlan& plan,
                            int64_t batch, int64_t kv_heads, int64_t q_heads, const std::vector<uint64_t>& words);

// Device-to-device cudaMemcpy of `bytes`: (read + written bytes) / time, GB/s (median of repetitions).
double copy_bandwidth_gbs(uint64_t bytes, int repetitions, cudaStream_t stream);

}  // namespace attnscope::kernels::bench
