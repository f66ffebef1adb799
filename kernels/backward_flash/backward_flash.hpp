// backward_flash.hpp — FlashAttention-2's backward pass in fp32, a teaching kernel (issue 19; Dao 2023, Algorithm 2).
//
// Inputs: Q, K, V, the forward's O and per-row log-sum-exp lse (kernels/flash_fp32 writes it when
// FlashParams::lse is set), and dO. No N×N matrix is stored: S and P are recomputed tile by tile from Q, K and lse,
//   P_ij = exp(scale · q_i·k_j − lse_i)         (= softmax(S)_ij exactly, since lse_i = log Σ_j exp(S_ij))
// Three launches on one stream:
//   1. D_i = Σ_x dO_ix · O_ix                   the pre-pass (= Σ_j P_ij dP_ij, the softmax Jacobian's row term)
//   2. dQ = 0                                   dQ is accumulated with atomic adds
//   3. one CTA per (K/V tile j, KV head, batch): K_j and V_j stay in shared memory, dK_j and dV_j in registers;
//      for every query head of the group and every Q tile i the block mask does not call empty:
//        S = scale · Q_i K_jᵀ,  P = exp(S − lse_i)   (masked pairs 0; fully masked rows have lse = −inf: P = 0)
//        dP = dO_i V_jᵀ,        dS = P ∘ (dP − D_i)
//        dV_j += Pᵀ dO_i,       dK_j += dSᵀ Q_i,      dQ_i += scale · dS K_j   (fp32 atomicAdd: other CTAs, the
//                                                                              other K/V tiles, add to the same rows)
//      and at the end dK_j = scale · dK_j and dV_j are written once. The group's query heads are visited inside the
//      CTA, so dK and dV of a KV head need no atomics.
// Tiles of 64 query rows × 64 keys; head_dim 1..128 (tiles zero-padded to 32, 64 or 128 columns).
#pragma once
#include <cstdint>
#include <string>

#include "core/host_device.hpp"
#include "core/mask.hpp"
#include "core/spec.hpp"

namespace attnscope::kernels {

constexpr int kFlashBackwardBr = 64;  // query rows of a Q tile (the block mask's tile height)
constexpr int kFlashBackwardBc = 64;  // keys of a K/V tile (one CTA each)
constexpr int kFlashBackwardMaxHeadDim = 128;

struct FlashBackwardParams {
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0;
  float scale = 1.0f;
  MaskView mask;                          // grid_cells on the device
  const float* q = nullptr;               // device, layouts as in core/spec.hpp
  const float* k = nullptr;
  const float* v = nullptr;
  const float* o = nullptr;               // the forward's O
  const float* d_out = nullptr;           // dO
  const float* lse = nullptr;             // [batch][q_heads][q_len], −inf for a fully masked row
  float* row_dot = nullptr;               // workspace [batch][q_heads][q_len]: D_i of the pre-pass
  float* dq = nullptr;                    // Q's layout; zeroed by the launch, then accumulated
  float* dk = nullptr;                    // K's layout; written once per element
  float* dv = nullptr;
  const uint8_t* tile_classes = nullptr;  // device, [tr][tc] TileKind of core's build_block_mask(spec, 64, 64)

  ATTN_HD int64_t tr() const { return (q_len + kFlashBackwardBr - 1) / kFlashBackwardBr; }
  ATTN_HD int64_t tc() const { return (kv_len + kFlashBackwardBc - 1) / kFlashBackwardBc; }
};

// Bytes the flash backward keeps beyond inputs and gradients: lse and D (one float per query row each) and the
// block mask (one byte per tile).
uint64_t flash_backward_workspace_bytes(const AttentionSpec& spec);
// Dynamic shared memory of the main kernel for this head_dim.
int flash_backward_shared_bytes(int64_t head_dim);
// Empty when launchable, else the problem in words (head dim > 128, grid limits, shared memory, buffers).
std::string validate(const FlashBackwardParams& p);
// The three launches above on `stream`.
void launch_flash_backward(const FlashBackwardParams& p, void* stream);

}  // namespace attnscope::kernels
