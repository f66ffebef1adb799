// flash1.hpp — FlashAttention-1's forward in its own loop order, for the v1 → v2 comparison (issue 18).
//
// One CTA per (batch, head), as FlashAttention-1 parallelises: the outer loop walks the K/V tiles, each loaded into
// shared memory once; the inner loop walks every Q tile of the sequence, and for each one reads O_i, m_i and l_i from
// device memory, folds in the K/V tile, and writes them back (Algorithm 1 of the FlashAttention paper). So O is read
// and written Tc times and Q read Tc times, where FlashAttention-2 (flash_fp32/, flash_tc/) keeps O on chip and
// writes it once, and spreads Q tiles over CTAs. Every K/V tile is loaded (no empty-tile skipping, as the CPU twin
// and the cost model count); masks apply per element on the tiles the block mask does not call full.
// Storage fp32, fp16 or bf16 for Q, K, V and O (O is rounded to the storage type at every pass, as in the paper's
// kernels); arithmetic, m and l in fp32. Head dims 1..128.
// With tracing on, the same kernel records each CTA's SM and, for every (K/V tile, Q tile) step, its start and end
// %globaltimer, plus (m, l, rescale, ‖l·O‖) of chosen rows of (batch 0, head 0) after each pass.
#pragma once
#include <cstdint>
#include <string>

#include "core/host_device.hpp"
#include "core/mask.hpp"
#include "core/spec.hpp"

namespace attnscope::kernels {

constexpr int kFlash1Br = 64;  // rows of a Q tile
constexpr int kFlash1Bc = 64;  // keys of a K/V tile
constexpr int kFlash1MaxHeadDim = 128;
constexpr int kFlash1MaxProbes = 16;

// Device buffers of the instrumented launch (sizes from flash1_trace_bytes).
struct Flash1TraceBuffers {
  uint32_t* cta_sm = nullptr;       // [B·H]            %smid of each CTA
  uint64_t* step_start = nullptr;   // [B·H][Tc][Tr]    %globaltimer ns when step (j, i) began loading Q_i
  uint64_t* step_end = nullptr;     // [B·H][Tc][Tr]    when O_i, m_i, l_i of the step were written
  int32_t probe_count = 0;          // rows of (batch 0, head 0) to follow, at most kFlash1MaxProbes
  const int32_t* probe_rows = nullptr;  // [probe_count]
  float* probe_state = nullptr;     // [probe_count][Tc][4]: m, l, rescale, l·‖O‖ after pass j
};

struct Flash1Params {
  DType dtype = DType::F32;
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  MaskView mask;                          // grid cells on the device
  const void* q = nullptr;                // device, storage dtype, layouts as in core/spec.hpp
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  float* m = nullptr;                     // device workspace [B·H·q_len]: running max of each row ("HBM")
  float* l = nullptr;                     // device workspace [B·H·q_len]: running sum of each row
  const uint8_t* tile_classes = nullptr;  // device [Tr][Tc] TileKind of build_block_mask(spec, 64, 64)
  unsigned long long* empty_rows = nullptr;  // optional: += rows with no allowed key
  const Flash1TraceBuffers* trace = nullptr;  // host struct of device pointers; null = tracing off

  ATTN_HD int64_t tr() const { return (q_len + kFlash1Br - 1) / kFlash1Br; }
  ATTN_HD int64_t tc() const { return (kv_len + kFlash1Bc - 1) / kFlash1Bc; }
  ATTN_HD int64_t ctas() const { return batch * q_heads; }
};

// Bytes of the trace buffers for a launch, so the caller can check them against free memory first.
uint64_t flash1_trace_bytes(const Flash1Params& p, int probe_count);
// Bytes of the m and l workspace: 8 per query row.
uint64_t flash1_workspace_bytes(const AttentionSpec& spec);
// Empty when launchable, else the problem in words.
std::string validate(const Flash1Params& p);
void launch_flash1(const Flash1Params& p, void* stream);

}  // namespace attnscope::kernels
