// flash_fp32.hpp — the fp32 FlashAttention-2 teaching kernel: one CTA per (Q tile, head, batch), K/V tiles streamed
// through shared memory, online softmax in registers, O written once. Follows the block mask: empty tiles are
// skipped, partial tiles masked per element, full tiles not at all. Any N; head_dim 1..128.
// Split schedules (core/visit_schedule.hpp): with work items given, CTA x runs item x over K/V tiles
// [visit_begin, visit_end) of its Q tile (the host turns the plan's visit ranges into tile ranges; empty tiles inside
// are skipped as always); an item with a partial slot writes (O_p, m_p·log2 e, l_p) to the workspace
// (kernels/common/split_merge.hpp) and launch_flash_fp32 then runs the merge. Traced launches are never split.
// With tracing on, the same kernel records per CTA its SM, and per K/V tile its start/end %globaltimer, plus
// (m, l, rescale, ‖acc‖) of chosen query rows after each tile: the data core/trace.hpp's Trace holds.
#pragma once
#include <cstdint>
#include <string>

#include "core/host_device.hpp"
#include "core/mask.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope::kernels {

constexpr int kFlashBr = 64;  // rows of a Q tile (Br)
constexpr int kFlashBc = 64;  // keys of a K/V tile (Bc)
constexpr int kFlashMaxHeadDim = 128;
constexpr int kFlashMaxProbes = 16;

// Device buffers the instrumented launch fills; all sized for the launch (see flash_trace_bytes).
struct FlashTraceBuffers {
  uint32_t* cta_sm = nullptr;        // [ctas]          %smid of each CTA
  int32_t* visit_count = nullptr;    // [ctas]          K/V tiles the CTA processed
  int32_t* visit_tile = nullptr;     // [ctas][tc]      which K/V tile, in processing order
  uint64_t* visit_start = nullptr;   // [ctas][tc]      %globaltimer ns when the tile's load began
  uint64_t* visit_end = nullptr;     // [ctas][tc]      %globaltimer ns when its P·V update finished
  int32_t probe_count = 0;           // query rows of (batch 0, head 0) to follow, at most kFlashMaxProbes
  const int32_t* probe_rows = nullptr;  // [probe_count]
  int32_t* probe_steps = nullptr;    // [probe_count]   steps recorded
  int32_t* probe_tile = nullptr;     // [probe_count][tc]
  float* probe_state = nullptr;      // [probe_count][tc][4]: m, l, rescale, ‖acc‖ after the tile
};

struct FlashParams {
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  MaskView mask;                         // grid_cells on the device
  const float* q = nullptr;              // device, layouts as in core/spec.hpp
  const float* k = nullptr;
  const float* v = nullptr;
  float* o = nullptr;
  const uint8_t* tile_classes = nullptr; // device, [tr][tc] TileKind of core's build_block_mask(spec, Br, Bc)
  unsigned long long* empty_rows = nullptr;  // device counter, optional: += rows with no allowed key
  // Optional, for the backward pass (kernels/backward_flash/): per query row (batch, head, row) the log-sum-exp
  // lse = m + log l of its scaled scores, -inf for a fully masked row. Null: not written.
  float* lse = nullptr;
  const FlashTraceBuffers* trace = nullptr;  // host struct of device pointers; null = tracing off
  // Split: null items = one CTA per Q tile; else item_count CTAs per (head, sequence), visit_begin/visit_end being
  // K/V tile indices; partials sized split_partial_floats(plan, batch·q_heads, kFlashBr, head_dim).
  const WorkItem* items = nullptr;
  int32_t item_count = 0;
  const SplitTile* split_tiles = nullptr;
  int32_t split_count = 0;
  int32_t partial_slots = 0;
  float* partials = nullptr;

  ATTN_HD int tr() const { return static_cast<int>((q_len + kFlashBr - 1) / kFlashBr); }
  ATTN_HD int tc() const { return static_cast<int>((kv_len + kFlashBc - 1) / kFlashBc); }
  ATTN_HD int64_t ctas() const { return int64_t{items ? item_count : tr()} * q_heads * batch; }
};

// Bytes of the trace buffers for a launch, so the caller can check them against free memory first.
uint64_t flash_trace_bytes(const FlashParams& p, int probe_count);
// Empty when launchable, else the problem in words (head_dim > 128, grid limits, shared memory, buffers).
std::string validate(const FlashParams& p);
// The dynamic shared memory the kernel needs for this head_dim.
int flash_shared_bytes(int64_t head_dim);
void launch_flash_fp32(const FlashParams& p, void* stream);

}  // namespace attnscope::kernels
