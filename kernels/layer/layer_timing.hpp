// layer_timing.hpp — the GEMM parts of one transformer block on the GPU (issue 20, "where a layer's time goes"):
// the QKV projection, the output projection and the MLP of LayerTimingRequest (core/backend.hpp gives the shapes),
// as cuBLAS GEMMs in the request's dtype with fp32 accumulation, plus our elementwise SiLU-gate / GELU kernel. The
// attention part is the backend's own run(); CudaBackend::time_layer puts the four together.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace attnscope::kernels {

struct LayerGemmTimings {
  bool ok = false;
  bool out_of_memory = false;
  std::string error;
  std::vector<LayerPartTiming> parts;  // "QKV projection", "output projection", "MLP", in that order
  uint64_t weight_bytes = 0;           // the block's weights as stored (dtype)
  uint64_t activation_bytes = 0;       // X, QKV, the attention output, the projection, the MLP's hidden buffers
};

// `stream`: a cudaStream_t; `cublas`: a cublasHandle_t bound to nothing in particular (the call sets its stream).
// Weights ±1/√fan-in and activations ±1 from a hash on the device: the timing does not depend on the values.
LayerGemmTimings time_layer_gemms_cuda(const LayerTimingRequest& request, void* stream, void* cublas);

}  // namespace attnscope::kernels
