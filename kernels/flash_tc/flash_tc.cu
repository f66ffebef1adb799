// flash_tc.cu — host side of the tensor-core flash kernel: validation in words, dispatch to the (type, head_dim)
// specializations, trace buffer sizes.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>

#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_tc/flash_tc.hpp"
#include "kernels/common/split_merge.hpp"

namespace attnscope::kernels {

namespace {
bool wgmma_available();
// The warp-specialised kernel copies tiles with the copy engine, whose coordinates are 32-bit: planes
// (sequence · head) and rows must fit, and it runs block-sparse schedules only (a gathered visit's keys are not
// one box).
bool ws_shape_supported(const FlashTcParams& p) {
  return !p.gathered && !p.items && p.batch * p.q_heads <= INT32_MAX && p.batch * p.kv_heads <= INT32_MAX &&
         p.q_len <= INT32_MAX - 2 * kFlashTcBr && p.kv_len <= INT32_MAX - 2 * kFlashTcBc;
}
}  // namespace

int flash_tc_shared_bytes(int64_t head_dim) {
  return static_cast<int>((kFlashTcBr * head_dim + 4 * kFlashTcBc * head_dim) * 2);  // Q + 2 stages of K, V
}

uint64_t flash_tc_trace_bytes(int64_t ctas, int32_t stride, int probe_count) {
  const uint64_t c = static_cast<uint64_t>(ctas), s = static_cast<uint64_t>(stride > 0 ? stride : 1);
  return c * (sizeof(uint32_t) + sizeof(int32_t)) + c * s * (sizeof(int32_t) + 2 * sizeof(uint64_t)) +
         static_cast<uint64_t>(probe_count) * (2 * sizeof(int32_t) + s * (sizeof(int32_t) + 4 * sizeof(float)));
}

std::string validate(const FlashTcParams& p) {
  const std::string who = "flash-tc: ";
  if (p.dtype != DType::F16 && p.dtype != DType::BF16)
    return who + "Q, K and V must be fp16 or bf16 (got " + dtype_name(p.dtype) + "); the fp32 kernel is 'flash'";
  if (p.head_dim != 64 && p.head_dim != 128)
    return who + "head dim " + std::to_string(p.head_dim) + " is not built: the kernel has head dim 64 and 128";
  if (p.batch < 1 || p.q_heads < 1 || p.kv_heads < 1 || p.q_len < 1 || p.kv_len < 1)
    return who + "batch, heads and lengths must be at least 1";
  if (p.q_heads % p.kv_heads != 0)
    return who + "query heads " + std::to_string(p.q_heads) + " is not a multiple of KV heads " + std::to_string(p.kv_heads);
  if (p.kv_len > INT32_MAX - kFlashTcBc) return who + "kv_len over 2^31 keys";
  if (p.tr != (p.q_len + kFlashTcBr - 1) / kFlashTcBr) return who + "the schedule was built for another q_len or Br";
  if (p.q_heads > 65535 || p.batch > 65535)
    return who + "at most 65535 heads and 65535 sequences per launch (grid y and z)";
  if (!p.q || !p.k || !p.v || !p.o || !p.offsets || !p.visits) return who + "a device buffer is missing";
  if (p.gathered && !p.keys) return who + "a gathered schedule needs its key lists";
  if (p.items) {
    if (p.item_count < 1 || p.item_count > INT32_MAX / 2) return who + "a split schedule needs 1..2^30 work items";
    if (p.trace) return who + "traced launches run the unsplit schedule (one CTA per Q tile)";
    if (p.split_count > 0 && (!p.split_tiles || !p.partials || p.partial_slots < p.split_count))
      return who + "a split schedule needs its split tiles and the partials' workspace";
  }
  if (p.trace) {
    const FlashTraceBuffers& t = *p.trace;
    if (!t.cta_sm || !t.visit_count || !t.visit_tile || !t.visit_start || !t.visit_end)
      return who + "a trace buffer is missing";
    if (p.trace_stride < 1) return who + "the trace stride must be at least 1";
    if (t.probe_count < 0 || t.probe_count > kFlashMaxProbes)
      return who + "at most " + std::to_string(kFlashMaxProbes) + " probe rows";
    if (t.probe_count > 0 && (!t.probe_rows || !t.probe_steps || !t.probe_tile || !t.probe_state))
      return who + "a probe buffer is missing";
  }
  if (p.timeline) {
    const SmTimelineBuffers& t = *p.timeline;
    if (p.path != TensorCorePath::WarpSpecialized)
      return who + "the inside-one-SM timeline is recorded by the warp-specialised kernel: choose the flash-tc path ws";
    if (!t.slots || !t.calibration || !t.sm || t.capacity < 1)
      return who + "a timeline buffer is missing";
    if (t.q_tile < 0 || t.q_tile >= p.tr || t.head < 0 || t.head >= p.q_heads || t.batch < 0 || t.batch >= p.batch)
      return who + "the timeline's CTA (Q tile " + std::to_string(t.q_tile) + ", head " + std::to_string(t.head) +
             ", batch " + std::to_string(t.batch) + ") is not in the launch";
  }
  if (p.path == TensorCorePath::Wgmma && (p.trace || !wgmma_available()))
    return who + "the wgmma path runs untraced on compute capability 9.0 with sm_90a code in the binary (CUDA 12+); "
                 "this launch or device cannot: choose the flash-tc path auto or mma";
  if (p.path == TensorCorePath::WarpSpecialized || p.path == TensorCorePath::WarpSpecializedNoPingPong) {
    if (p.trace || !wgmma_available())
      return who + "the warp-specialised path runs untraced on compute capability 9.0 with sm_90a code in the binary "
                   "(CUDA 12+); this launch or device cannot: choose the flash-tc path auto or mma";
    if (!ws_shape_supported(p))
      return who + "the warp-specialised path runs unsplit block-sparse schedules (not gathered key lists, not split "
                   "visit lists) with at most 2^31 (sequence, head) pairs and rows: choose the flash-tc path auto or "
                   "wgmma";
  }
  return {};
}

namespace {

// Whether this build holds the wgmma kernel and the current device is compute capability 9.0.
bool wgmma_available() {
#ifdef ATTNSCOPE_HAVE_SM90A
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess)
    return false;
  return major == 9 && minor == 0;
#else
  return false;
#endif
}

enum class Implementation { Mma, Wgmma, WarpSpecialized, WarpSpecializedNoPingPong };

Implementation implementation(const FlashTcParams& p) {
  if (p.trace || p.path == TensorCorePath::Mma || !wgmma_available())
    return Implementation::Mma;  // the instrumented kernel is the mma.sync one
  if (p.path == TensorCorePath::Wgmma) return Implementation::Wgmma;
  if (p.path == TensorCorePath::WarpSpecializedNoPingPong) return Implementation::WarpSpecializedNoPingPong;
  if (p.path == TensorCorePath::WarpSpecialized) return Implementation::WarpSpecialized;
  return ws_shape_supported(p) ? Implementation::WarpSpecialized : Implementation::Wgmma;  // Auto
}

}  // namespace

std::string flash_tc_path(const FlashTcParams& p) {
  switch (implementation(p)) {
    case Implementation::WarpSpecialized: return "warp-specialised wgmma + TMA (sm_90a)";
    case Implementation::WarpSpecializedNoPingPong: return "warp-specialised wgmma + TMA, no ping-pong (sm_90a)";
    case Implementation::Wgmma: return "wgmma (sm_90a)";
    case Implementation::Mma: break;
  }
  return "mma.sync (sm_80+)";
}

namespace {
void launch_flash_tc_pieces(const FlashTcParams& p, void* stream);

// After a split launch: the pieces' partials become O (kernels/common/split_merge.hpp).
void merge_split_pieces(const FlashTcParams& p, void* stream) {
  if (!p.items || p.split_count == 0) return;
  SplitMergeParams m;
  m.dtype = p.dtype;
  m.batch = p.batch;
  m.q_heads = p.q_heads;
  m.q_len = p.q_len;
  m.head_dim = p.head_dim;
  m.br = kFlashTcBr;
  m.split_tiles = p.split_tiles;
  m.split_count = p.split_count;
  m.partial_slots = p.partial_slots;
  m.partials = p.partials;
  m.o = p.o;
  m.empty_rows = p.empty_rows;
  launch_split_merge(m, stream);
}
}  // namespace

void launch_flash_tc(const FlashTcParams& p, void* stream) {
  launch_flash_tc_pieces(p, stream);
  merge_split_pieces(p, stream);
}

namespace {
// The kernel alone: split pieces write partials, merged by the caller.
void launch_flash_tc_pieces(const FlashTcParams& p, void* stream) {
  if (auto problem = validate(p); !problem.empty()) throw std::invalid_argument(problem);
  const bool half = p.dtype == DType::F16;
#ifdef ATTNSCOPE_HAVE_SM90A
  const Implementation chosen = implementation(p);
  if (chosen == Implementation::WarpSpecialized || chosen == Implementation::WarpSpecializedNoPingPong) {
    const bool ping_pong = chosen == Implementation::WarpSpecialized;
    if (p.head_dim == 64)
      half ? detail::launch_flash_tc_ws_typed<__half, 64>(p, ping_pong, stream)
           : detail::launch_flash_tc_ws_typed<__nv_bfloat16, 64>(p, ping_pong, stream);
    else
      half ? detail::launch_flash_tc_ws_typed<__half, 128>(p, ping_pong, stream)
           : detail::launch_flash_tc_ws_typed<__nv_bfloat16, 128>(p, ping_pong, stream);
    return;
  }
  if (chosen == Implementation::Wgmma) {
    if (p.head_dim == 64)
      half ? detail::launch_flash_tc_wgmma_typed<__half, 64>(p, stream)
           : detail::launch_flash_tc_wgmma_typed<__nv_bfloat16, 64>(p, stream);
    else
      half ? detail::launch_flash_tc_wgmma_typed<__half, 128>(p, stream)
           : detail::launch_flash_tc_wgmma_typed<__nv_bfloat16, 128>(p, stream);
    return;
  }
#endif
  if (p.head_dim == 64)
    half ? detail::launch_flash_tc_typed<__half, 64>(p, stream) : detail::launch_flash_tc_typed<__nv_bfloat16, 64>(p, stream);
  else
    half ? detail::launch_flash_tc_typed<__half, 128>(p, stream)
         : detail::launch_flash_tc_typed<__nv_bfloat16, 128>(p, stream);
}

}  // namespace

}  // namespace attnscope::kernels
