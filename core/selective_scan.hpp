// selective_scan.hpp — a Mamba-style selective state-space scan (S6, issue 20): CPU twins and the float64
// reference the GPU kernels are checked against.
//
// Per batch b, channel c (of D) and state n (of Nst), over time t = 0 … L-1:
//   h_t[c,n] = exp(Δ_t[c] · A[c,n]) · h_{t-1}[c,n]  +  Δ_t[c] · B_t[n] · x_t[c]        (h_{-1} = h_in, often 0)
//   y_t[c]   = Σ_n C_t[n] · h_t[c,n]  +  Dskip[c] · x_t[c]
// A is diagonal per channel (negative for a decaying state), Δ (after softplus), B and C depend on the input:
// the "selection". The state has D·Nst numbers whatever L is — the recurrent step costs the same at every
// position, where a KV cache grows with the context.
//
// Chunked form (the GPU's parallel scan): split time into chunks of T steps; inside a chunk each step's
// contribution is known up to the state entering the chunk, which arrives from the previous chunk:
//   h_t = P_t ∘ h_enter + h_t^local,  P_t = Π_{s=chunk start..t} exp(Δ_s A)
// so chunks scan their local part independently and the entering states pass along the chunks in order.
//
// Layouts (row-major): x, delta: [B, L, D];  A: [D, Nst];  Bm, Cm: [B, L, Nst];  Dskip: [D];  y: [B, L, D];
// state h: [B, D, Nst].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"

namespace attnscope {

struct ScanShape {
  int64_t batch = 1, length = 1, channels = 1, state = 16;
};

struct ScanInputs {
  ScanShape shape;
  std::vector<float> x, delta, a, b, c, d_skip;
  std::vector<float> h_in;  // [B, D, Nst]; empty: zeros
};

// Every problem with the shape and the array sizes, each a sentence; empty when valid.
std::vector<std::string> validate(const ScanInputs& in);

// Deterministic random inputs: x, B, C ~ U(-1, 1), Δ ∈ (0.001, 0.1) (softplus-like range), A ∈ [-8, -0.5],
// Dskip ~ U(-1, 1).
ScanInputs generate_scan_inputs(const ScanShape& shape, uint64_t seed);

struct ScanOutput {
  std::vector<double> y, h_out;  // reference: double
};
ScanOutput selective_scan_reference(const ScanInputs& in);

struct ScanResult {
  std::vector<float> y, h_out;
};
// The recurrence step by step (the decode path: one step = one new token), in float.
ScanResult selective_scan_recurrent(const ScanInputs& in, ThreadPool& pool);
// Chunks of `chunk` steps scanned independently, entering states carried along (the GPU kernel's order).
ScanResult selective_scan_chunked(const ScanInputs& in, int64_t chunk, ThreadPool& pool);

}  // namespace attnscope
