// trace.hpp — what a kernel really did, in one format for the GPU kernels and the CPU twins.
// The tile-streaming and online-softmax views replay a Trace; they never invent the animation.
// Saved to and loaded from JSON (trace_io.hpp), so a GPU trace can be replayed on a machine without one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

constexpr int kTraceFormatVersion = 1;

// One K/V tile processed by a CTA. Times are nanoseconds since the earliest start in the trace.
struct TileVisit {
  int32_t k_tile = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

// One CTA: one Q tile of one (batch, head) — or, in the FlashAttention-1 order, one K/V tile's pass.
struct CtaRecord {
  int32_t cta = 0;          // linear block index in the launch (GPU) or task index (CPU)
  int32_t batch = 0, head = 0, q_tile = 0;
  int32_t unit = 0;         // SM id (%smid) on the GPU, worker thread index on the CPU
  std::vector<TileVisit> visits;  // in the order the tiles were loaded
};

// Online-softmax state of one query row after each K/V tile it saw.
struct ProbeStep {
  int32_t k_tile = 0;
  double m = 0.0;          // running max of the scores so far (-inf before any allowed key)
  double l = 0.0;          // running normaliser Σ exp(s - m)
  double rescale = 1.0;    // exp(m_old - m_new) applied to l and the accumulator at this step
  double acc_norm = 0.0;   // Euclidean norm of the unnormalised output accumulator
};

struct RowProbe {
  int32_t batch = 0, head = 0, row = 0;
  std::vector<ProbeStep> steps;
};

struct Trace {
  int version = kTraceFormatVersion;
  std::string source;      // "cpu" or "cuda"
  std::string algorithm;   // algorithm_name()
  std::string device;      // CPU model / GPU name
  std::string clock;       // "steady_clock" (CPU) or "globaltimer" (GPU)
  std::string spec;        // AttentionSpec::summary()
  int32_t br = 0, bc = 0;  // tile sizes
  int32_t tr = 0, tc = 0;  // number of Q tiles and K/V tiles
  int32_t units = 0;       // SMs or worker threads
  std::vector<CtaRecord> ctas;
  std::vector<RowProbe> probes;
};

// The backward tile loop of FlashAttention-2 (core/backward.hpp, flash_backward): one task per (batch, KV head,
// K/V tile) keeps that tile's K, V, dK and dV resident and visits every Q tile of every query head of its group,
// recomputing S and P from lse, adding into dK and dV and into the visited rows of dQ. Times are nanoseconds since
// the earliest start in the trace.
struct BackwardQVisit {
  int32_t head = 0, q_tile = 0;  // query head (of the task's group) and Q tile
  int64_t start_ns = 0, end_ns = 0;
  int64_t pairs = 0;             // allowed (query, key) pairs of the visit: 0 = an empty tile, skipped
};
struct BackwardTaskRecord {
  int32_t batch = 0, kv_head = 0, kv_tile = 0;
  int32_t unit = 0;              // worker thread index on the CPU, SM on the GPU
  std::vector<BackwardQVisit> visits;  // in the order the Q tiles were visited
};
struct BackwardTrace {
  std::string source, device, spec;  // "cpu" / "cuda", the device, AttentionSpec::summary()
  int32_t br = 0, bc = 0;            // tile sizes
  int32_t tr = 0, tc = 0;            // Q tiles per head, K/V tiles per KV head
  int32_t units = 0;
  std::vector<BackwardTaskRecord> tasks;  // in task order: batch, then KV head, then K/V tile
};

}  // namespace attnscope
