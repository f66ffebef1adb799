// backward.hpp — the backward pass of attention (issue 19): gradients of the output with respect to Q, K and V.
//
// Forward:  S = scale·QKᵀ (masked: -inf),  P = softmax(S) by rows,  O = PV.   lse_i = log Σ_j exp(S_ij)
// Backward, given dO (the gradient of the loss with respect to O):
//   dV = Pᵀ dO
//   dP = dO Vᵀ
//   D_i = Σ_d dO_id · O_id            (= rowsum(dO ∘ O) = Σ_j P_ij dP_ij)
//   dS = P ∘ (dP − D)                  (the softmax's Jacobian applied row by row)
//   dQ = scale · dS K,   dK = scale · dSᵀ Q
// With GQA the query heads of a group share K and V, so dK and dV of a KV head sum over the group's heads.
// A fully masked row has no softmax: its output is zeros and it contributes no gradient.
//
// Three implementations, each writing every element of dQ, dK and dV:
//   reference_backward    double precision, row by row; what the others are checked against (and it is checked
//                         against finite differences)
//   naive_backward        the unfused path in float: P kept for one head, dP materialised and overwritten by dS
//   flash_backward        FlashAttention-2's backward in float: per K/V tile (the outer loop) S and P are
//                         recomputed tile by tile from Q, K and the forward's lse — no N×N matrix is stored —
//                         dK and dV accumulate for the tile, and dQ accumulates across K/V tiles with atomic adds
//                         (as the GPU kernel does)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/reference.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

struct BackwardReference {
  std::vector<double> dq, dk, dv;  // Q's and K/V's layouts
  std::vector<double> output;      // O of the forward pass
  std::vector<double> lse;         // per query row (batch, head, row): -inf for a fully masked row
};
// A gradient dO for tests and runs: Q's element count, uniform in [-1, 1), element i a function of (seed, i) only.
std::vector<float> random_d_out(const AttentionSpec& spec, uint64_t seed);

// `d_out` has Q's layout.
BackwardReference reference_backward(const AttentionInputs& in, const std::vector<float>& d_out);

struct BackwardResult {
  bool ok = false;
  std::string error;
  std::vector<float> dq, dk, dv;
  uint64_t bytes_allocated = 0;  // beyond inputs and gradients: naive's P and dP/dS per worker; flash's lse and D
};

// `output` and `lse` are the forward pass's (flash_forward_for_backward gives both); naive recomputes P itself.
BackwardResult naive_backward(const AttentionInputs& in, const std::vector<float>& d_out, ThreadPool& pool);
BackwardResult flash_backward(const AttentionInputs& in, const std::vector<float>& output,
                              const std::vector<float>& lse, const std::vector<float>& d_out, const TileConfig& tiles,
                              ThreadPool& pool, BackwardTrace* trace = nullptr);  // trace: filled when given

// The forward pass as FlashAttention's training kernels run it: O and the per-row log-sum-exp lse (-inf for a
// fully masked row), the only softmax statistic the backward pass needs.
struct ForwardWithLse {
  std::vector<float> output, lse;
};
ForwardWithLse flash_forward_for_backward(const AttentionInputs& in, ThreadPool& pool);

// The unfused training path as a framework runs it: the forward pass keeps P of every (batch, head) for the
// backward pass — B·H·Nq·Nk floats, the N² that training with naive attention holds between the passes — and the
// backward pass reads it, materialising only dP (overwritten by dS) per running task.
struct NaiveForwardSaved {
  std::vector<float> output;  // O, Q's layout
  std::vector<float> p;       // P per (batch, head): ((b·H + h)·Nq + i)·Nk + j; 0 where masked
};
NaiveForwardSaved naive_forward_saving_p(const AttentionInputs& in, ThreadPool& pool);
// bytes_allocated: dP per running task, Nq·Nk floats each (the saved P is the caller's).
BackwardResult naive_backward_from_saved(const AttentionInputs& in, const NaiveForwardSaved& saved,
                                         const std::vector<float>& d_out, ThreadPool& pool);

}  // namespace attnscope
