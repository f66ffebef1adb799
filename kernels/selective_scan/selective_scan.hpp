// selective_scan.hpp — the Mamba-style selective scan (S6) on the GPU, issue 20: the CUDA twin of
// core/selective_scan.hpp (whose header gives the recurrence, the chunked form and the layouts). All in fp32.
//
// Three passes, one thread per (batch, channel) in passes 1 and 3 with its Nst states in registers:
//   1. local     every chunk of T steps from a zero state at once: y without the entering state, the chunk's end
//                state and its decay Π exp(Δ_t·A) per state
//   2. carry     per (batch, channel, state), along the chunks in order: h_enter(k+1) = decay(k)·h_enter(k) + end(k),
//                starting from h_in; the last one is h_out
//   3. apply     every chunk again: y_t += Σₙ C_t[n]·P_t[n]·h_enter[n], P_t the decay from the chunk start to t
// Workspace: end, decay and entering states, 3·B·D·chunks·Nst floats.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace attnscope::kernels {

uint64_t selective_scan_cuda_workspace_bytes(const ScanShape& shape, int64_t chunk);

// Uploads, runs (warm-up, then timed repetitions with CUDA events), downloads y (SequenceRunResult::output) when
// asked, and the final state into *h_out when given. `stream`: a cudaStream_t.
SequenceRunResult run_selective_scan_cuda(const SelectiveScanRunRequest& request, const std::string& device,
                                          void* stream, std::vector<float>* h_out = nullptr);

}  // namespace attnscope::kernels
