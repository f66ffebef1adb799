// measure.hpp — the device's measured ceilings and the naive path's pieces, for `attnscope devices --measure` and
// scripts/gpu-check.sh. Every ratio is against a reference measured in the same run:
//   copy bandwidth       a large device-to-device cudaMemcpy, counting bytes read + written
//   softmax bandwidth    bytes of S read + P written by the masked softmax kernel / its time
//   naive predicted      t(GEMM QKᵀ) + t(GEMM PV) + (S read + P written) / copy bandwidth
//   flash fp32           the teaching kernel on the same problem (fp32 storage), and with tracing on
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/spec.hpp"

namespace attnscope::kernels {

struct MeasureConfig {
  std::vector<int64_t> lengths = {512, 1024, 2048, 4096, 8192, 16384};
  int64_t batch = 1, heads = 16, head_dim = 64;
  DType naive_dtype = DType::F16;  // storage of the naive breakdown (frameworks' usual choice)
  std::string mask = "dense";
  int warmup = 2, repetitions = 7;
  bool flash = true;               // also time flash fp32 and naive fp32 (same fp32 problem)
};

struct MeasureRow {
  int64_t n = 0;
  bool skipped = false;
  std::string note;                // why skipped (out of memory), empty otherwise
  // naive in naive_dtype
  double gemm_qk_ms = 0, softmax_ms = 0, gemm_pv_ms = 0, naive_ms = 0, predicted_ms = 0;
  double softmax_gbs = 0, softmax_ratio = 0;   // ratio to the copy bandwidth (the variant the naive path uses)
  double softmax_registers_ms = 0, softmax_streaming_ms = 0;  // both variants, forced, for the notes
  double naive_over_predicted = 0;
  // fp32 problem
  double naive_fp32_ms = 0, flash_fp32_ms = 0, flash_traced_ms = 0;
  double flash_tflops = 0;
  double trace_overhead = 0;                    // traced / untraced - 1
};

struct MeasureReport {
  std::string device;
  double copy_gbs = 0;             // device-to-device copy, read + written bytes per second / 1e9
  uint64_t copy_bytes = 0;
  MeasureConfig config;
  std::vector<MeasureRow> rows;
  std::string error;               // non-empty when the measurement could not run
};

MeasureReport measure_device(const MeasureConfig& config);

// The roofline ceilings of the current device for core::Backend::measure_ceilings: a 1 GiB device-to-device copy,
// a cuBLAS SGEMM (true fp32) and an fp16 tensor-core GEMM, each 8192³ on random (non-zero) data, medians of 5.
DeviceCeilings measure_cuda_ceilings();

// Just the copy bandwidth (GB/s, read + write) over a buffer of `bytes`.
double measure_copy_bandwidth(uint64_t bytes, int repetitions, std::string* error);

}  // namespace attnscope::kernels
