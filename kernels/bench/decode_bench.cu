// decode_bench.cu — the decode benchmark's harness (decode_bench.cuh): L2 flush, read-only references, timelines,
// copy bandwidth.
#include "kernels/bench/decode_bench.cuh"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "kernels/common/bulk_copy.cuh"

namespace attnscope::kernels::bench {
namespace {

// Streams `count` 16-byte words through L2 and keeps nothing: after it, L2 holds clean lines of this buffer only.
__global__ void l2_flush_read_kernel(const uint4* data, int64_t count, unsigned* sink) {
  unsigned x = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const uint4 w = __ldcg(data + i);
    x ^= w.x ^ w.y ^ w.z ^ w.w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);  // depends on the data (all zeros: never taken), so the loads stay
}

// Reads `count` 16-byte words of each of two buffers, 8 independent loads per thread in flight (streaming: evict
// first), and keeps nothing: the read-only reference for the decode's bandwidth.
__global__ void __launch_bounds__(256) stream_read_kernel(const uint4* a, const uint4* b, int64_t count, unsigned* sink) {
  constexpr int kUnroll = 8;
  unsigned x = 0;
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t base = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; base < 2 * count; base += kUnroll * stride) {
    uint4 w[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + u * stride;
      w[u] = i < count ? __ldcs(a + i) : i < 2 * count ? __ldcs(b + (i - count)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) x ^= w[u].x ^ w[u].y ^ w[u].z ^ w[u].w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);  // depends on the data, so the loads stay
}

// DecodeReadReference chunks,CTAS,THREADS[,rotate][,cg]: the read-only reference read as the decode
// reads, CTA c streaming its own contiguous 1/CTAS of each buffer, a and b side by side (4 loads of each in flight
// per thread); `rotate` starts each CTA at a hashed offset of its chunk and wraps; `cg` loads through L2 with the
// normal policy instead of streaming (evict-first).
__global__ void stream_read_chunks_kernel(const uint4* a, const uint4* b, int64_t count, int mode, unsigned* sink) {
  const bool rotate = mode & 1, cached = mode & 2;
  unsigned x = 0;
  const int64_t per = (count + gridDim.x - 1) / gridDim.x;
  const int64_t begin = blockIdx.x * per, end = min(count, begin + per), n = max(int64_t{0}, end - begin);
  const int64_t shift = rotate && n > 0 ? static_cast<int64_t>((blockIdx.x * 2654435761u >> 8) % (n / 1024 + 1)) * 1024 % n : 0;
  for (int64_t j = threadIdx.x; j < n; j += 4 * int64_t{blockDim.x}) {
    uint4 w[8];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int64_t jj = j + u * int64_t{blockDim.x};
      const int64_t i = begin + (jj + shift) % max(n, int64_t{1});
      w[u] = jj < n ? (cached ? __ldcg(a + i) : __ldcs(a + i)) : make_uint4(0, 0, 0, 0);
      w[4 + u] = jj < n ? (cached ? __ldcg(b + i) : __ldcs(b + i)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < 8; ++u) x ^= w[u].x ^ w[u].y ^ w[u].z ^ w[u].w;
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);
}

// DecodeReadReference ring,CTAS,THREADS,STAGES,TILE_KB: the read-only reference read through a
// shared-memory ring as the decode kernel reads (skip-math without the rest): CTA c streams its own contiguous
// 1/CTAS of a and of b in tiles of TILE_KB from each, thread 0 starting bulk copies that complete on the stage's
// mbarrier, STAGES − 1 tiles in flight, a CTA barrier per tile.
__global__ void stream_read_ring_kernel(const uint4* a, const uint4* b, int64_t count, int stages, int tile_words,
                                        unsigned* sink) {
  extern __shared__ __align__(128) uint4 ring[];  // stages × {a tile, b tile}
  __shared__ __align__(8) uint64_t landed[16];
  const int64_t per = (count + gridDim.x - 1) / gridDim.x;
  const int64_t begin = blockIdx.x * per, end = min(count, begin + per);
  const int tiles = static_cast<int>((max(int64_t{0}, end - begin) + tile_words - 1) / tile_words);
  auto issue = [&](int t) {
    if (t >= tiles) return;
    const int st = t % stages;
    const int64_t w0 = begin + int64_t{t} * tile_words;
    const uint32_t bytes = static_cast<uint32_t>(min(int64_t{tile_words}, end - w0) * 16);
    bulk::mbarrier_arrive_expect_tx(&landed[st], 2 * bytes);
    bulk::bulk_load(ring + st * 2 * tile_words, a + w0, bytes, &landed[st]);
    bulk::bulk_load(ring + st * 2 * tile_words + tile_words, b + w0, bytes, &landed[st]);
  };
  if (threadIdx.x == 0) {
    for (int st = 0; st < stages; ++st) bulk::mbarrier_init(&landed[st], 1);
    bulk::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int t = 0; t < stages - 1; ++t) issue(t);
  unsigned x = 0;
  for (int t = 0; t < tiles; ++t) {
    bulk::mbarrier_wait(&landed[t % stages], static_cast<uint32_t>((t / stages) & 1));
    const uint4 w = ring[(t % stages) * 2 * tile_words + threadIdx.x % tile_words];
    x ^= w.x ^ w.w;
    __syncthreads();
    if (threadIdx.x == 0) {
      bulk::fence_proxy_async_shared();
      issue(t + stages - 1);
    }
  }
  if (x == 0x9E3779B9u) atomicAdd(sink, 1u);
}

}  // namespace

uint64_t l2_flush_bytes(const DeviceInfo& device) {
  return std::max<uint64_t>(uint64_t{64} << 20, uint64_t{4} * static_cast<uint64_t>(std::max(0, device.l2_bytes)));
}

void flush_l2(DeviceBuffer& flush, unsigned* sink, int sm_count, cudaStream_t stream) {
  const int64_t words = static_cast<int64_t>(flush.bytes() / sizeof(uint4));
  l2_flush_read_kernel<<<static_cast<unsigned>(4 * std::max(1, sm_count)), 512, 0, stream>>>(flush.get<uint4>(), words, sink);
  CUDA_CHECK_LAUNCH("l2_flush_read_kernel");
}

void launch_read_reference(const DecodeReadReference& how, const DeviceInfo& device, const uint4* a, const uint4* b,
                           int64_t words, unsigned* sink, cudaStream_t stream) {
  switch (how.kind) {
    case DecodeReadReference::Kind::Ring: {
      const int shared = how.stages * 2 * how.tile_kb * 1024;
      if (device.cc_major < 9 || shared > device.shared_per_block_optin)
        throw std::invalid_argument("--read ring," + std::to_string(how.ctas) + "," + std::to_string(how.threads) + "," +
                                    std::to_string(how.stages) + "," + std::to_string(how.tile_kb) +
                                    ": the ring needs sm_90 and STAGES x 2 x TILE_KB KiB (" + std::to_string(shared) +
                                    " bytes) within a block's shared memory (" +
                                    std::to_string(device.shared_per_block_optin) + " bytes on " + device.name + ")");
      CUDA_CHECK(cudaFuncSetAttribute(stream_read_ring_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
      stream_read_ring_kernel<<<static_cast<unsigned>(how.ctas), static_cast<unsigned>(how.threads), shared, stream>>>(
          a, b, words, how.stages, how.tile_kb * 64, sink);
      CUDA_CHECK_LAUNCH("stream_read_ring_kernel");
      return;
    }
    case DecodeReadReference::Kind::Chunks:
      stream_read_chunks_kernel<<<static_cast<unsigned>(how.ctas), static_cast<unsigned>(how.threads), 0, stream>>>(
          a, b, words, (how.rotate ? 1 : 0) | (how.cached ? 2 : 0), sink);
      CUDA_CHECK_LAUNCH("stream_read_chunks_kernel");
      return;
    case DecodeReadReference::Kind::Stream:
      break;
  }
  stream_read_kernel<<<static_cast<unsigned>(4 * std::max(1, device.sm_count)), 256, 0, stream>>>(a, b, words, sink);
  CUDA_CHECK_LAUNCH("stream_read_kernel");
}

void append_decode_timeline(const std::string& path, const std::string& label, const DecodeLaunchPlan& plan,
                            int64_t batch, int64_t kv_heads, int64_t q_heads, const std::vector<uint64_t>& words) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw std::invalid_argument("--timeline: cannot open '" + path + "' for appending");
  const int64_t ctas = static_cast<int64_t>(plan.splits) * kv_heads * plan.head_blocks * batch;
  uint64_t t0 = ~uint64_t{0};
  for (int64_t c = 0; c < ctas; ++c) t0 = std::min(t0, words[static_cast<size_t>(c * kDecodeTimelineFields + kTimelineEntry)]);
  auto rel = [&](uint64_t t) { return t == 0 ? int64_t{-1} : static_cast<int64_t>(t - t0); };
  std::fprintf(f, "# %s variant=%s splits=%d warps=%d stages=%d grid_merge=%d\n", label.c_str(),
               decode_variant_name(plan.variant), plan.splits, plan.warps, plan.stages, plan.grid_merge ? 1 : 0);
  for (int64_t c = 0; c < ctas; ++c) {
    const uint64_t* row = words.data() + c * kDecodeTimelineFields;
    std::fprintf(f, "decode,%s,%lld,%llu", label.c_str(), static_cast<long long>(c), static_cast<unsigned long long>(row[kTimelineSm]));
    for (int field = kTimelineEntry; field < kTimelineTiles; ++field) std::fprintf(f, ",%lld", static_cast<long long>(rel(row[field])));
    std::fprintf(f, ",%llu", static_cast<unsigned long long>(row[kTimelineTiles]));
    for (int j = 0; j < kDecodeTimelineTiles; ++j) std::fprintf(f, ",%lld", static_cast<long long>(rel(row[kTimelineHeader + j])));
    std::fprintf(f, "\n");
  }
  const uint64_t* reduce = words.data() + ctas * kDecodeTimelineFields;
  for (int64_t h = 0; h < batch * q_heads; ++h)
    if (reduce[2 * h] != 0)
      std::fprintf(f, "reduce,%s,%lld,%lld,%lld\n", label.c_str(), static_cast<long long>(h),
                   static_cast<long long>(rel(reduce[2 * h])), static_cast<long long>(rel(reduce[2 * h + 1])));
  std::fclose(f);
}

double copy_bandwidth_gbs(uint64_t bytes, int repetitions, cudaStream_t stream) {
  DeviceBuffer src(bytes), dst(bytes);
  CUDA_CHECK(cudaMemsetAsync(src.get(), 1, bytes, stream));
  EventTimer timer;
  std::vector<double> ms = timer.time(stream, 2, repetitions, [&] {
    CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
  });
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(bytes) / (ms[ms.size() / 2] * 1e-3) / 1e9;
}

}  // namespace attnscope::kernels::bench
