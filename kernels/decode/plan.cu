// plan.cu — the decode family's host side before a launch: validation of the parameters, the launch plan (split
// count, kernel configuration, workspace), the kernel's parameters (make_args), and launch_decode.
#include <algorithm>
#include <stdexcept>

#include "kernels/common/tensor_map.hpp"
#include "kernels/decode/epilogue.cuh"
#include "kernels/decode/typed.cuh"

namespace attnscope::kernels {

using decode::kBc;

DecodeStrides decode_strides(const DecodeParams& p) {
  if (p.stride_sequence != 0 || p.stride_head != 0 || p.stride_row != 0)
    return {p.stride_sequence, p.stride_head, p.stride_row};
  const int64_t rows = p.page_tokens > 0 ? p.page_tokens : p.capacity;  // a (sequence or page, KV head) plane
  return {p.kv_heads * rows * p.head_dim, rows * p.head_dim, p.head_dim};
}

uint64_t decode_counter_bytes(int64_t batch, int64_t kv_heads, int64_t head_blocks) {
  return (static_cast<uint64_t>(batch * kv_heads * head_blocks) * 12 + 255) / 256 * 256;
}

uint64_t decode_timeline_words(const DecodeLaunchPlan& plan, int64_t batch, int64_t kv_heads, int64_t q_heads) {
  return static_cast<uint64_t>(plan.splits * kv_heads * plan.head_blocks * batch) * kDecodeTimelineFields +
         static_cast<uint64_t>(batch * q_heads) * 2;
}

std::string validate(const DecodeParams& p) {
  auto num = [](int64_t x) { return std::to_string(x); };
  if (p.dtype != DType::F16 && p.dtype != DType::BF16)
    return std::string("decode (CUDA) reads fp16 or bf16 caches on tensor cores, not ") + dtype_name(p.dtype) +
           ": choose --dtype fp16 or bf16";
  if (p.batch < 1 || p.batch > 65535) return "batch " + num(p.batch) + ": must be 1..65535";
  if (p.kv_heads < 1 || p.q_heads < 1) return "query heads " + num(p.q_heads) + ", KV heads " + num(p.kv_heads) + ": both must be >= 1";
  if (p.q_heads % p.kv_heads != 0)
    return "query heads " + num(p.q_heads) + " is not a multiple of KV heads " + num(p.kv_heads) +
           ": every KV head must serve the same number of query heads";
  if (p.head_dim != 64 && p.head_dim != 128)
    return "head dim " + num(p.head_dim) + ": the decode kernel is built for head dim 64 or 128";
  if (p.max_len < 1) return "cache length " + num(p.max_len) + ": decoding needs at least one cached token (append first)";
  if (p.max_len > (int64_t{1} << 30)) return "cache length " + num(p.max_len) + ": at most 2^30 tokens";
  const int64_t group = p.q_heads / p.kv_heads;
  const int64_t blocks = (group + kDecodeMaxHeadsPerCta - 1) / kDecodeMaxHeadsPerCta;
  if (p.kv_heads * blocks > 65535) return "kv_heads x head blocks " + num(p.kv_heads * blocks) + ": at most 65535";
  if (p.page_tokens != 0) {
    if (auto why = page_size_problem(p.page_tokens); !why.empty()) return why;
    if (!p.block_table) return "paged cache without a block table";
    if (p.max_pages * p.page_tokens < p.max_len)
      return "block table of " + num(p.max_pages) + " pages x " + num(p.page_tokens) + " tokens cannot hold length " +
             num(p.max_len);
    if (p.pool_pages < 1 || p.pool_pages > (int64_t{1} << 31) - 1) return "page pool of " + num(p.pool_pages) + " pages";
  } else if (p.capacity < p.max_len) {
    return "contiguous cache capacity " + num(p.capacity) + " is below the cache length " + num(p.max_len);
  }
  if (p.stride_sequence != 0 || p.stride_head != 0 || p.stride_row != 0) {
    const std::string given = "strides (sequence " + num(p.stride_sequence) + ", head " + num(p.stride_head) +
                              ", row " + num(p.stride_row) + ")";
    if (p.stride_sequence < 1 || p.stride_head < 1 || p.stride_row < 1)
      return given + ": give all three (elements), or none for the dense layout";
    if (p.stride_sequence % 8 != 0 || p.stride_head % 8 != 0 || p.stride_row % 8 != 0)
      return given + ": each must be a multiple of 8 elements (16 bytes)";
    if (p.stride_row < p.head_dim) return given + ": a token's row of head_dim " + num(p.head_dim) + " would overlap the next";
  }
  if (!p.q || !p.o || !p.k || !p.v || !p.seq_lens) return "a device buffer (q, o, k, v or seq_lens) is missing";
  for (const void* ptr : {p.q, static_cast<const void*>(p.o), p.k, p.v})
    if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0) return "q, o, k and v must be 16-byte aligned";
  return {};
}

std::string validate_shape(DecodeParams p) {
  const auto placeholder = reinterpret_cast<void*>(uintptr_t{256});  // non-null, 16-byte aligned
  p.q = p.k = p.v = p.o = placeholder;
  p.seq_lens = static_cast<const int32_t*>(placeholder);
  if (p.page_tokens != 0) p.block_table = static_cast<const int32_t*>(placeholder);
  return validate(p);
}

namespace decode {

KernelConfig kernel_config(const DecodeParams& p, const DecodeLaunchPlan& plan, bool instr) {
  KernelConfig c;
  c.m_tiles = plan.m_tiles;
  c.warps = plan.warps;
  c.stages = plan.stages;
  c.dynamic = plan.dynamic_tiles;
  c.paged = p.page_tokens > 0;
  c.tma = plan.tensor_copies;
  c.instr = instr;
  return c;
}

namespace {

template <class F>
auto by_type(DType dtype, int64_t d, F&& f) {
  if (dtype == DType::BF16) {
    if (d == 64) return f(__nv_bfloat16{}, std::integral_constant<int, 64>{});
    return f(__nv_bfloat16{}, std::integral_constant<int, 128>{});
  }
  if (d == 64) return f(__half{}, std::integral_constant<int, 64>{});
  return f(__half{}, std::integral_constant<int, 128>{});
}

}  // namespace

DecodeArgs make_args(const DecodeParams& p, const DecodeLaunchPlan& plan) {
  DecodeArgs a{};
  a.batch = static_cast<int32_t>(p.batch);
  a.q_heads = static_cast<int32_t>(p.q_heads);
  a.kv_heads = static_cast<int32_t>(p.kv_heads);
  a.group = static_cast<int32_t>(p.q_heads / p.kv_heads);
  a.heads_per_cta = plan.heads_per_cta;
  a.head_blocks = plan.head_blocks;
  a.splits = plan.splits;
  a.tiles_per_split = static_cast<int32_t>(plan.tiles_per_split);
  a.scale_log2 = p.scale * kLog2e;
  a.seq_lens = p.seq_lens;
  a.q = p.q;
  a.o = p.o;
  a.k = p.k;
  a.v = p.v;
  const DecodeStrides strides = decode_strides(p);
  a.stride_sequence = strides.sequence;
  a.stride_head = strides.head;
  a.stride_row = strides.row;
  if (p.page_tokens > 0) {
    int shift = 0;
    while ((int64_t{1} << shift) < p.page_tokens) ++shift;
    a.page_shift = shift;
    a.page_mask = static_cast<int32_t>(p.page_tokens - 1);
  }
  a.block_table = p.block_table;
  a.max_pages = static_cast<int32_t>(p.max_pages);
  a.grid_merge = plan.grid_merge && plan.splits > 1 ? 1 : 0;
  a.pool_static_tiles = plan.pool_static_tiles;
  a.probe = plan.probe;
  a.timeline = p.timeline;
  if (plan.tensor_copies) {  // DecodeArgs::k_map, v_map: 3-D views (d, row, plane) of the cache, 128-byte swizzle
    // (plane = sequence or page · kv_heads + KV head: tensor copies are planned only where that nesting holds)
    const uint64_t row_bytes = static_cast<uint64_t>(strides.row) * 2;
    const uint64_t plane_bytes = static_cast<uint64_t>(strides.head) * 2;
    const bool paged = p.page_tokens > 0;
    const uint64_t rows = paged ? static_cast<uint64_t>(p.page_tokens) : static_cast<uint64_t>(p.capacity);
    const uint64_t dims[3] = {static_cast<uint64_t>(p.head_dim), rows,
                              static_cast<uint64_t>((paged ? p.pool_pages : p.batch) * p.kv_heads)};
    a.box_rows = static_cast<int32_t>(std::min<int64_t>(paged ? p.page_tokens : kBc, kBc));
    a.k_map = make_tensor_map_3d_16bit(p.k, dims, row_bytes, plane_bytes, 64, a.box_rows, true);
    a.v_map = make_tensor_map_3d_16bit(p.v, dims, row_bytes, plane_bytes, 64, a.box_rows, true);
  }
  // Workspace (splits > 1): the tile counters, then the partials.
  if (p.partials) {
    a.tile_counters = reinterpret_cast<int*>(p.partials);
    a.partials = p.partials + decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks) / sizeof(float);
  }
  return a;
}

}  // namespace decode

DecodeLaunchPlan plan_decode(const DecodeParams& p, const DeviceInfo& device, const DecodePlanOptions& options) {
  if (options.pool_percent < -1 || options.pool_percent > 100)
    throw std::invalid_argument("decode pool percent " + std::to_string(options.pool_percent) +
                                ": a whole percentage, 0..100");
  DecodeLaunchPlan plan;
  const DecodeVariant variant = options.variant == DecodeVariant::Auto ? kDecodeAutoVariant : options.variant;
  plan.variant = variant;
  const int64_t group = p.q_heads / std::max<int64_t>(1, p.kv_heads);
  plan.heads_per_cta = static_cast<int>(std::min<int64_t>(group, kDecodeMaxHeadsPerCta));
  plan.head_blocks = static_cast<int>((group + plan.heads_per_cta - 1) / plan.heads_per_cta);
  plan.m_tiles = plan.heads_per_cta <= 16 ? 1 : plan.heads_per_cta <= 32 ? 2 : 4;
  // Groups > 16: 8 warps and the deep ring, by the copy engine (balanced-tma on sm_90+) or by cp.async.
  const bool eight_warps = plan.m_tiles >= 2;
  plan.warps = eight_warps ? 8 : 4;
  plan.stages = eight_warps ? kDecodeDeepStages : kDecodeStages;
  // Tensor copies address (d, row, plane) boxes: the cache must nest as the dense layout does (rows may be padded).
  const DecodeStrides strides = decode_strides(p);
  const int64_t plane_rows = p.page_tokens > 0 ? p.page_tokens : p.capacity;
  const bool dense_nesting = strides.head >= plane_rows * strides.row && strides.sequence == p.kv_heads * strides.head;
  plan.tensor_copies = variant == DecodeVariant::BalancedTma && eight_warps && device.cc_major >= 9 && dense_nesting;
  if (plan.tensor_copies) plan.stages = kDecodeTmaStages;
  plan.shared_bytes = decode::decode_shared_bytes(static_cast<int>(p.head_dim), plan.m_tiles, plan.warps, plan.stages,
                                                  plan.tensor_copies);
  plan.sm_count = std::max(1, device.sm_count);
  const decode::KernelConfig config = decode::kernel_config(p, plan, false);
  const int resident = decode::by_type(p.dtype, p.head_dim, [&](auto t, auto d) {
    return decode::decode_ctas_per_sm<decltype(t), decltype(d)::value>(config, plan.shared_bytes);
  });
  plan.ctas_per_sm = std::max(1, resident);
  const int64_t base = p.batch * p.kv_heads * plan.head_blocks;
  DecodeSplitPlan sp = plan_decode_splits(base, p.max_len, kBc, int64_t{plan.sm_count} * plan.ctas_per_sm);
  if (options.force_splits > 0) {
    const int64_t tiles = (p.max_len + kBc - 1) / kBc;
    sp.tiles_per_split = (tiles + options.force_splits - 1) / options.force_splits;
    sp.splits = static_cast<int>((tiles + sp.tiles_per_split - 1) / sp.tiles_per_split);
  }
  // The in-grid merge: every CTA must be resident at once (its CTAs wait for one another), so at most one wave.
  const int64_t slots = int64_t{plan.sm_count} * plan.ctas_per_sm;
  if (options.force_splits <= 0 && base * sp.splits > slots && slots / base >= 2) {
    const int64_t tiles = (p.max_len + kBc - 1) / kBc;
    const int64_t cap = std::min<int64_t>(slots / base, tiles);
    sp.tiles_per_split = (tiles + cap - 1) / cap;
    sp.splits = static_cast<int>((tiles + sp.tiles_per_split - 1) / sp.tiles_per_split);
    sp.wave_efficiency = static_cast<double>(base * sp.splits) / static_cast<double>(slots);
  }
  if (sp.splits > kDecodeMaxSplits)
    throw std::invalid_argument("decode split count " + std::to_string(sp.splits) + ": at most " +
                                std::to_string(kDecodeMaxSplits));
  plan.splits = sp.splits;
  plan.tiles_per_split = sp.tiles_per_split;
  plan.wave_efficiency = sp.wave_efficiency;
  plan.grid_merge = plan.splits > 1 && base * plan.splits <= slots;
  plan.probe = options.probe;
  plan.dynamic_tiles = plan.m_tiles >= 2 && plan.splits > 1;
  if (plan.dynamic_tiles)  // the tail pool: the last share of each range
    plan.pool_static_tiles = static_cast<int>(
        plan.tiles_per_split * (100 - (options.pool_percent >= 0 ? options.pool_percent : kDecodePoolPercent)) / 100);
  plan.workspace_bytes =
      plan.splits > 1 ? decode_counter_bytes(p.batch, p.kv_heads, plan.head_blocks) +
                            static_cast<uint64_t>(p.batch * p.q_heads * plan.splits * (2 + p.head_dim)) * 4
                      : 0;
  return plan;
}

void launch_decode(const DecodeParams& p, const DecodeLaunchPlan& plan, void* stream) {
  if (auto why = validate(p); !why.empty()) throw std::invalid_argument(why);
  if (plan.splits > 1 && !p.partials) throw std::invalid_argument("split decode without a partials workspace");
  const decode::DecodeArgs args = decode::make_args(p, plan);
  const decode::KernelConfig config = decode::kernel_config(p, plan, plan.probe != 0 || p.timeline != nullptr);
  decode::by_type(p.dtype, p.head_dim, [&](auto t, auto d) {
    decode::launch_decode_typed<decltype(t), decltype(d)::value>(p, plan, args, config,
                                                                 static_cast<cudaStream_t>(stream));
  });
}

}  // namespace attnscope::kernels
