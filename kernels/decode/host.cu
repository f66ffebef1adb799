// host.cu — the decode family's host entry points: host arrays in and out (run_decode_host, for tests),
// Algorithm::Decode behind CudaBackend::run (run_decode_request), and the decode loop behind
// CudaBackend::decode_loop (run_decode_loop_cuda), measured with the harness of kernels/bench/decode_bench.cuh.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/cost_model.hpp"
#include "kernels/bench/decode_bench.cuh"
#include "kernels/common/cuda_util.cuh"
#include "kernels/decode/decode.hpp"
#include "kernels/decode/decode_quant.hpp"
#include "kernels/decode/fill.cuh"

namespace attnscope::kernels {
namespace {

// DecodeParams' shape and scale (scale 0: 1/√d); the caller adds the cache layout and the buffers.
DecodeParams decode_shape(DType dtype, int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                          double scale) {
  DecodeParams p;
  p.dtype = dtype;
  p.batch = batch;
  p.q_heads = q_heads;
  p.kv_heads = kv_heads;
  p.head_dim = head_dim;
  p.scale = static_cast<float>(scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(head_dim)));
  return p;
}

// The device buffers of Q, K, V, O and the sequences' lengths into DecodeParams.
void set_buffers(DecodeParams& p, DeviceBuffer& q, DeviceBuffer& k, DeviceBuffer& v, DeviceBuffer& o,
                 DeviceBuffer& lens) {
  p.q = q.get();
  p.k = k.get();
  p.v = v.get();
  p.o = o.get();
  p.seq_lens = lens.get<int32_t>();
}

}  // namespace

DecodeHostResult run_decode_host(const DecodeHostProblem& h) {
  DecodeHostResult r;
  try {
    std::string why;
    const auto devices = list_cuda_devices(&why);
    if (devices.empty()) throw std::invalid_argument("no CUDA device: " + why);
    CUDA_CHECK(cudaSetDevice(devices.front().index));
    cudaStream_t stream = nullptr;
    DecodeParams p = decode_shape(h.dtype, h.batch, h.q_heads, h.kv_heads, h.head_dim, h.scale);
    p.capacity = h.capacity;
    p.stride_sequence = h.stride_sequence;
    p.stride_head = h.stride_head;
    p.stride_row = h.stride_row;
    p.page_tokens = h.page_tokens;
    p.max_pages = h.max_pages;
    p.pool_pages = h.pool_pages;
    if (static_cast<int64_t>(h.seq_lens.size()) != h.batch)
      throw std::invalid_argument("seq_lens has " + std::to_string(h.seq_lens.size()) + " entries for batch " +
                                  std::to_string(h.batch));
    for (int32_t n : h.seq_lens) {
      if (n < 1) throw std::invalid_argument("cache length " + std::to_string(n) + ": decoding needs at least one cached token (append first)");
      p.max_len = std::max<int64_t>(p.max_len, n);
    }
    // Validate the shapes before anything is allocated (the pointers are checked once they exist).
    if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
    const size_t q_count = static_cast<size_t>(h.batch * h.q_heads * h.head_dim);
    if (h.q.size() != q_count || h.k.size() != h.v.size() || h.k.empty())
      throw std::invalid_argument("host arrays do not match the shapes");
    if (p.page_tokens > 0 && h.block_table.size() != static_cast<size_t>(h.batch * h.max_pages))
      throw std::invalid_argument("block table must hold batch x max_pages entries");
    DeviceBuffer q, k, v, o(q_count * 2), lens(h.seq_lens.size() * 4), table(std::max<size_t>(4, h.block_table.size() * 4));
    upload_as(h.dtype, h.q.data(), h.q.size(), q, stream);
    upload_as(h.dtype, h.k.data(), h.k.size(), k, stream);
    upload_as(h.dtype, h.v.data(), h.v.size(), v, stream);
    CUDA_CHECK(cudaMemcpyAsync(lens.get(), h.seq_lens.data(), lens.bytes(), cudaMemcpyHostToDevice, stream));
    if (!h.block_table.empty())
      CUDA_CHECK(cudaMemcpyAsync(table.get(), h.block_table.data(), h.block_table.size() * 4, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison: NaN until written
    set_buffers(p, q, k, v, o, lens);
    p.block_table = h.page_tokens > 0 ? table.get<int32_t>() : nullptr;
    r.plan = plan_decode(p, devices.front(), h.options);
    std::vector<DecodeLaunchPlan> earlier;
    uint64_t workspace = r.plan.workspace_bytes;
    for (int s : h.earlier_launch_splits) {
      DecodePlanOptions options = h.options;
      options.force_splits = s;
      earlier.push_back(plan_decode(p, devices.front(), options));
      workspace = std::max(workspace, earlier.back().workspace_bytes);
    }
    DeviceBuffer partials(workspace);
    if (workspace > 0) {  // partials poisoned (NaN), counters zero
      CUDA_CHECK(cudaMemsetAsync(partials.get(), 0xFF, partials.bytes(), stream));
      CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, decode_counter_bytes(p.batch, p.kv_heads, r.plan.head_blocks), stream));
    }
    p.partials = partials.get<float>();
    for (const DecodeLaunchPlan& plan : earlier) launch_decode(p, plan, stream);
    if (!earlier.empty()) CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison again
    launch_decode(p, r.plan, stream);
    r.output.resize(q_count);
    download_as_float(h.dtype, o.get(), q_count, r.output.data(), stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    r.ok = true;
  } catch (const CudaError& e) {
    r.error = std::string("CUDA error: ") + e.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& e) {
    r.error = e.what();
  }
  return r;
}

void run_decode_request(const RunRequest& req, RunResult& r, const DeviceInfo& device, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  const AttentionInputs& in = *req.inputs;
  const AttentionSpec& spec = in.spec;
  if (spec.q_len != 1)
    throw std::invalid_argument("decode (CUDA) computes one new query per sequence: q_len must be 1 (got " +
                                std::to_string(spec.q_len) + "); use flash for a prefill");
  if (!spec.mask.is_dense() && !(spec.mask.causal && spec.mask.terms.empty() && spec.mask.grid.cells.empty()))
    throw std::invalid_argument("decode (CUDA) reads the whole cache: the mask must be dense or causal (the new "
                                "token is the last one, so causal allows every key)");
  if (req.record_trace) throw std::invalid_argument("decode (CUDA) records no trace");
  DecodeParams p = decode_shape(spec.dtype, spec.batch, spec.q_heads, spec.kv_heads, spec.head_dim,
                                spec.softmax_scale());
  p.max_len = spec.kv_len;
  p.capacity = spec.kv_len;
  if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
  const DecodeLaunchPlan plan = plan_decode(p, device);
  const uint64_t e = 2, q_bytes = static_cast<uint64_t>(spec.q_elements()) * e;
  const uint64_t kv_bytes = static_cast<uint64_t>(spec.kv_elements()) * e;
  const uint64_t staging = static_cast<uint64_t>(std::max(spec.q_elements(), spec.kv_elements())) * 4;
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  r.bytes_needed = 2 * q_bytes + 2 * kv_bytes + plan.workspace_bytes + staging;
  r.bytes_free = free_b;
  r.bytes_allocated = plan.workspace_bytes;
  if (r.bytes_needed > free_b) {
    r.out_of_memory = true;
    r.error = "decode at " + spec.summary() + " needs " + format_bytes_binary(static_cast<double>(r.bytes_needed)) +
              " (KV cache " + format_bytes_binary(2.0 * kv_bytes) + ") but only " +
              format_bytes_binary(static_cast<double>(free_b)) + " is free on " + device.name +
              ": use a smaller batch, fewer KV heads or a shorter cache";
    return;
  }
  DeviceBuffer q, k, v, o(q_bytes), lens(static_cast<size_t>(spec.batch) * 4), partials(plan.workspace_bytes);
  if (plan.splits > 1)  // tile counters start at zero
    CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks), stream));
  upload_as(spec.dtype, in.q.data(), in.q.size(), q, stream);
  upload_as(spec.dtype, in.k.data(), in.k.size(), k, stream);
  upload_as(spec.dtype, in.v.data(), in.v.size(), v, stream);
  const std::vector<int32_t> host_lens(static_cast<size_t>(spec.batch), static_cast<int32_t>(spec.kv_len));
  CUDA_CHECK(cudaMemcpyAsync(lens.get(), host_lens.data(), lens.bytes(), cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream));  // poison: NaN until written
  set_buffers(p, q, k, v, o, lens);
  p.partials = partials.get<float>();
  EventTimer timer;
  r.timing = Timing::from_samples(timer.time(stream, req.warmup, req.repetitions, [&] { launch_decode(p, plan, stream); }));
  const AlgorithmCost cost = algorithm_cost(Algorithm::Decode, spec, TileConfig{}, PatternStats{});  // core's model
  r.flops = cost.flops;
  r.bytes_moved = cost.hbm_bytes;
  if (req.want_output) {
    r.output.resize(static_cast<size_t>(spec.q_elements()));
    download_as_float(spec.dtype, o.get(), r.output.size(), r.output.data(), stream);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  r.ok = true;
}

DecodeLoopResult run_decode_loop_cuda(const DecodeLoopRequest& req, const DeviceInfo& device, void* stream_ptr) {
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  DecodeLoopResult res;
  res.backend = "cuda";
  res.device = device.name;
  res.storage = dtype_name(req.dtype);
  res.storage_bytes = dtype_bytes(req.dtype);
  if (auto problems = validate(req); !problems.empty()) {
    res.error = problems.front();
    return res;
  }
  if (kv_dtype_is_quantised(req.kv_dtype)) return run_decode_loop_quant_cuda(req, device, stream_ptr);  // fp8 / int8
  try {
    CUDA_CHECK(cudaSetDevice(device.index));
    const int64_t B = req.batch, Hkv = req.kv_heads, d = req.head_dim, N = req.context, P = req.page_tokens;
    const bool paged = P > 0;
    DecodeParams p = decode_shape(req.dtype, B, req.q_heads, Hkv, d, 0);
    p.max_len = N;
    p.page_tokens = P;
    p.capacity = paged ? 0 : N;
    p.max_pages = paged ? pages_for(N, P) : 0;
    p.pool_pages = paged ? B * p.max_pages : 0;
    if (auto problem = validate_shape(p); !problem.empty()) throw std::invalid_argument(problem);
    const DecodeBenchOptions& options = req.options;
    DecodePlanOptions plan_options;
    plan_options.variant = options.variant;
    plan_options.probe = options.probe;
    plan_options.pool_percent = options.pool_percent;
    const DecodeLaunchPlan plan_full = plan_decode(p, device, plan_options);
    const uint64_t e = static_cast<uint64_t>(dtype_bytes(req.dtype));
    const uint64_t cache_rows = paged ? static_cast<uint64_t>(p.pool_pages * P) : static_cast<uint64_t>(B * N);
    res.pool_bytes = 2 * cache_rows * static_cast<uint64_t>(Hkv * d) * e;
    // Tile counters, then partials for the largest split count any context of the loop can plan (at most 128).
    const uint64_t counter_bytes = decode_counter_bytes(B, Hkv, plan_full.head_blocks);
    const uint64_t partial_bytes = counter_bytes + static_cast<uint64_t>(B * req.q_heads * 128 * (2 + d)) * 4;
    res.workspace_bytes = partial_bytes + static_cast<uint64_t>(2 * B * req.q_heads * d) * e +
                          static_cast<uint64_t>(B * (p.max_pages + 1)) * 4;
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const uint64_t flush_bytes = bench::l2_flush_bytes(device);  // the timing's L2 flush (not the decode's memory)
    res.bytes_needed = res.pool_bytes + res.workspace_bytes + flush_bytes;
    res.bytes_free = free_b;
    if (res.bytes_needed > free_b) {
      res.out_of_memory = true;
      res.error = "the KV cache (" + std::to_string(B) + " sequences x " + std::to_string(N) + " tokens x " +
                  std::to_string(Hkv) + " KV heads x d " + std::to_string(d) + ", " + dtype_name(req.dtype) +
                  ") needs " + format_bytes_binary(static_cast<double>(res.bytes_needed)) + " but only " +
                  format_bytes_binary(static_cast<double>(free_b)) + " is free on " + device.name +
                  ": use a smaller batch, fewer KV heads or a shorter context";
      return res;
    }
    DeviceBuffer k(res.pool_bytes / 2), v(res.pool_bytes / 2), q(static_cast<size_t>(B * req.q_heads * d) * e),
        o(q.bytes()), lens(static_cast<size_t>(B) * 4), partials(partial_bytes),
        table(static_cast<size_t>(std::max<int64_t>(1, B * p.max_pages)) * 4), flush(flush_bytes), sink(4);
    CUDA_CHECK(cudaMemsetAsync(flush.get(), 0, flush.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(sink.get(), 0, sink.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(partials.get(), 0, counter_bytes, stream));  // tile counters start at zero
    // The read-only reference streams the first bytes of each pool, which include slots no token has filled yet
    // (pages still free, the tail of a last page): zeroed once so every byte it reads is defined.
    CUDA_CHECK(cudaMemsetAsync(k.get(), 0, k.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(v.get(), 0, v.bytes(), stream));
    set_buffers(p, q, k, v, o, lens);
    p.partials = partials.get<float>();
    p.block_table = paged ? table.get<int32_t>() : nullptr;
    CUDA_CHECK(cudaMemsetAsync(lens.get(), 0, lens.bytes(), stream));
    decode::fill_queries(req.dtype, q.get(), B * req.q_heads * d, req.seed, stream);

    // The host keeps the block table (kv_cache.hpp's model) and uploads the entries of new pages only.
    PagedKvCache model = paged ? PagedKvCache(B, P, p.pool_pages) : PagedKvCache();
    std::vector<int32_t> host_table;
    auto append_tokens = [&](int64_t from, int64_t count) {
      if (paged) {
        for (int64_t b = 0; b < B; ++b) {
          const size_t before = model.block_table(b).size();
          const auto a = model.append(b, count);
          if (!a.ok) throw std::invalid_argument(a.error);
          const auto& t = model.block_table(b);
          if (t.size() > before)
            CUDA_CHECK(cudaMemcpyAsync(table.get<int32_t>() + b * p.max_pages + before, t.data() + before,
                                       (t.size() - before) * 4, cudaMemcpyHostToDevice, stream));
        }
      }
      decode::fill_rows(p, static_cast<int>(from), static_cast<int>(from + count), req.seed, stream);
      decode::bump_lengths(lens.get<int32_t>(), B, static_cast<int>(count), stream);
    };
    append_tokens(0, req.prefill);
    res.copy_gbs = bench::copy_bandwidth_gbs(uint64_t{1} << 30, 10, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));

    EventPair append;  // times the append of each step
    {
      for (int64_t len = req.prefill + 1; len <= N; ++len) {
        CUDA_CHECK(cudaEventRecord(append.start, stream));
        append_tokens(len - 1, 1);
        CUDA_CHECK(cudaEventRecord(append.stop, stream));
        p.max_len = len;
        const DecodeLaunchPlan plan = plan_decode(p, device);
        const bool measured = (len - req.prefill) % req.measure_every == 0 || len == N;
        if (!measured) {
          launch_decode(p, plan, stream);  // the loop decodes every step; only some steps are timed
          continue;
        }
        std::vector<double> ms = bench::decode_times(options.timing, stream, flush, sink.get<unsigned>(), device.sm_count,
                                                     1, req.repetitions, [&] { launch_decode(p, plan, stream); });
        std::sort(ms.begin(), ms.end());
        const float append_ms = append.elapsed_ms();
        DecodeStepSample s;
        s.context = len;
        s.decode_ms = ms[ms.size() / 2];
        s.decode_samples_ms = ms;
        s.append_ms = append_ms;
        s.kv_bytes_read = 2.0 * static_cast<double>(B * Hkv * len * d) * static_cast<double>(e);
        s.achieved_gbs = s.kv_bytes_read / (s.decode_ms * 1e-3) / 1e9;
        s.pages_in_use = paged ? model.pages_in_use() : 0;
        s.cache_bytes = paged ? static_cast<uint64_t>(s.pages_in_use * P * Hkv * d) * 2 * e : res.pool_bytes;
        s.splits = plan.splits;
        res.samples.push_back(s);
        if (len == N) {
          // The read-only reference: as many bytes as this decode read, from the start of K and of V.
          const int64_t words = static_cast<int64_t>(s.kv_bytes_read / 2 / sizeof(uint4));
          std::vector<double> read_ms =
              bench::decode_times(options.timing, stream, flush, sink.get<unsigned>(), device.sm_count, 1,
                                  req.repetitions, [&] {
                                    bench::launch_read_reference(options.read, device, k.get<uint4>(), v.get<uint4>(),
                                                                 words, sink.get<unsigned>(), stream);
                                  });
          std::sort(read_ms.begin(), read_ms.end());
          res.read_gbs = s.kv_bytes_read / (read_ms[read_ms.size() / 2] * 1e-3) / 1e9;
          if (!options.timeline_path.empty()) {  // one more decode, instrumented, its timeline appended to the file
            DeviceBuffer timeline(decode_timeline_words(plan, B, Hkv, req.q_heads) * sizeof(uint64_t));
            CUDA_CHECK(cudaMemsetAsync(timeline.get(), 0, timeline.bytes(), stream));
            DecodeParams traced = p;
            traced.timeline = timeline.get<uint64_t>();
            bench::decode_times(options.timing, stream, flush, sink.get<unsigned>(), device.sm_count, 0, 1,
                                [&] { launch_decode(traced, plan, stream); });
            std::vector<uint64_t> host(timeline.bytes() / sizeof(uint64_t));
            CUDA_CHECK(cudaMemcpy(host.data(), timeline.get(), timeline.bytes(), cudaMemcpyDeviceToHost));
            bench::append_decode_timeline(options.timeline_path, "B=" + std::to_string(B) + " Hq=" + std::to_string(req.q_heads) +
                                             " Hkv=" + std::to_string(Hkv) + " d=" + std::to_string(d) + " L=" + std::to_string(len) +
                                             (paged ? " paged/" + std::to_string(P) : std::string(" contiguous")),
                                   plan, B, Hkv, req.q_heads, host);
          }
        }
      }
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    res.ok = true;
  } catch (const CudaError& err) {
    res.ok = false;
    res.out_of_memory = err.code() == cudaErrorMemoryAllocation;
    res.error = std::string(res.out_of_memory ? "out of device memory: " : "CUDA error: ") + err.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& err) {
    res.ok = false;
    res.error = err.what();
  }
  return res;
}

}  // namespace attnscope::kernels
