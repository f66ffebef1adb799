// flash_tc.hpp — the tensor-core FlashAttention-2 forward kernel: fp16 or bf16 Q, K, V and O, fp32 accumulation
// and softmax, head_dim 64 or 128, GQA, any N. One CTA per (Q tile of 128 rows, query head, sequence). K/V blocks of
// 64 keys stream through two stages of swizzled shared memory by cp.async (visit n + 1 loads while visit n is
// computed), the online softmax stays in registers, and P goes from the S accumulators straight into P·V.
// Three implementations share that data flow (launch_flash_tc picks one, flash_tc_path says which):
//   mma.sync m16n8k16 fed by ldmatrix, 4 warps × 32 rows (flash_tc_kernel.cuh, sm_80+; also the traced kernel)
//   wgmma (warpgroup MMA from shared-memory descriptors), 2 warpgroups × 64 rows (flash_tc_wgmma.cuh, sm_90a only)
//   warp-specialised: a producer warpgroup copying tiles with TMA, two consumer warpgroups taking turns on the
//   tensor cores, the softmax of one step overlapping the next products (sm90a/flash_tc_ws.cuh; block-sparse
//   schedules only; chosen explicitly until it has passed the GPU check, then the default on compute capability 9.0)
//
// The mask never reaches the kernel as a formula: core/visit_schedule.hpp lists per Q tile the K/V blocks to
// compute (empty tiles are absent) and per partial block one 64-bit word per row. Gathered schedules (strided,
// dilated patterns) list key indices instead of tiles, so work follows the allowed pairs.
//
// Split schedules (VisitSchedule::split, core/visit_schedule.hpp): with work items given, CTA x runs work item x
// (visits [visit_begin, visit_end) of its Q tile); an item with a partial slot writes its rows' (O_p, m_p, l_p) to
// the workspace (kernels/common/split_merge.hpp's layout) instead of O, and launch_flash_tc then runs the merge.
// The mma.sync and wgmma kernels run split schedules; the warp-specialised one does not (auto picks wgmma).
//
// Tracing (FlashTraceBuffers, as the fp32 kernel's): per CTA its SM, per visit its start/end %globaltimer, and
// (m, l, rescale, ‖acc‖) of probed query rows of (batch 0, head 0) after each visit; the trace stride is the most
// visits any Q tile has.
#pragma once
#include <cstdint>
#include <string>

#include "core/backend.hpp"
#include "core/sm_timeline.hpp"
#include "core/spec.hpp"
#include "core/visit_schedule.hpp"
#include "kernels/flash_fp32/flash_fp32.hpp"

namespace attnscope::kernels {

constexpr int kFlashTcBr = 128;  // query rows of a CTA: 4 warps × 32
constexpr int kFlashTcBc = 64;   // keys of a K/V block (one 64-bit mask word per row)
constexpr int kFlashTcWarps = 4;

// Inside one SM (core/sm_timeline.hpp): the warp-specialised kernel, instrumented by a template parameter, writes for
// one chosen CTA, per lane (0: the producer's copy thread, 1 and 2: thread 0 of each consumer warpgroup), the SM clock
// (clock64) of each SmEvent of each step into its fixed slot; a slot left 0 was not reached. Device pointers.
constexpr int kSmEventKinds = static_cast<int>(SmEvent::Count);
struct SmTimelineBuffers {
  int32_t q_tile = 0, head = 0, batch = 0;  // the CTA to record (q_tile: the schedule's Q tile index)
  int32_t capacity = 0;                     // steps per lane: the CTA's steps + 1 (the last P·V)
  unsigned long long* slots = nullptr;      // [3][capacity][kSmEventKinds], zeroed before the launch
  unsigned long long* calibration = nullptr;  // [4] globaltimer, clock64 at the CTA's start; the same at its end
  uint32_t* sm = nullptr;                   // [1] %smid of the recorded CTA
};

struct FlashTcParams {
  DType dtype = DType::F16;  // F16 or BF16
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  const void* q = nullptr;   // device, layouts as in core/spec.hpp, dtype elements
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  // The schedule on the device (core/visit_schedule.hpp), built for Br = kFlashTcBr, Bc = kFlashTcBc.
  int32_t tr = 0;                         // Q tiles
  bool gathered = false;
  const int32_t* offsets = nullptr;       // [tr + 1]
  const KernelVisit* visits = nullptr;
  const int32_t* keys = nullptr;          // gathered only
  const uint64_t* bits = nullptr;
  unsigned long long* empty_rows = nullptr;  // optional: += rows with no allowed key
  // Split schedule: null items = one CTA per Q tile. Else item_count CTAs per (head, sequence), partials sized
  // split_partial_floats(plan, batch·q_heads, kFlashTcBr, head_dim), and the plan's split tiles for the merge.
  const WorkItem* items = nullptr;
  int32_t item_count = 0;
  const SplitTile* split_tiles = nullptr;
  int32_t split_count = 0;
  int32_t partial_slots = 0;
  float* partials = nullptr;
  const FlashTraceBuffers* trace = nullptr;  // host struct of device pointers; null = tracing off
  int32_t trace_stride = 0;                  // visits per CTA in the trace arrays (≥ the longest visit list)
  TensorCorePath path = TensorCorePath::Auto;  // which implementation (core/backend.hpp); traced launches are mma
  const SmTimelineBuffers* timeline = nullptr;  // host struct of device pointers; needs the warp-specialised path

  int64_t ctas() const { return int64_t{items ? item_count : tr} * q_heads * batch; }
  int32_t grid_x() const { return items ? item_count : tr; }
};

// Empty when launchable, else the problem in words (dtype, head_dim, grid limits, missing buffers).
std::string validate(const FlashTcParams& p);
int flash_tc_shared_bytes(int64_t head_dim);
// Runs the schedule; a split one is followed by the merge of its pieces.
void launch_flash_tc(const FlashTcParams& p, void* stream);
// Bytes of the trace buffers for a launch with `stride` visits per CTA.
uint64_t flash_tc_trace_bytes(int64_t ctas, int32_t stride, int probe_count);

// Which implementation launch_flash_tc runs for these parameters on the current device, in words. On compute
// capability 9.0 with sm_90a code in the binary and no trace: the warp-specialised kernel when asked
// (WarpSpecialized*), else the wgmma kernel; elsewhere "mma.sync (sm_80+)".
// validate() refuses an explicit Wgmma or WarpSpecialized* path where it cannot run.
std::string flash_tc_path(const FlashTcParams& p);

namespace detail {
// One instantiation per (storage type, head_dim), each in its own translation unit (flash_tc_<type>_d<D>.cu,
// sm90a/flash_tc_wgmma_<type>_d<D>.cu).
template <class T, int D>
void launch_flash_tc_typed(const FlashTcParams& p, void* stream);
template <class T, int D>
void launch_flash_tc_wgmma_typed(const FlashTcParams& p, void* stream);
template <class T, int D>
void launch_flash_tc_ws_typed(const FlashTcParams& p, bool ping_pong, void* stream);  // p.timeline: ping-pong only
}  // namespace detail

}  // namespace attnscope::kernels
