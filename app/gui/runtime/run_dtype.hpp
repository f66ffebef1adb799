// run_dtype.hpp — the storage type an algorithm runs at when a view compares algorithms on one experiment.
// Kernels are built for some dtypes only (CUDA: the fp32 teaching kernels flash and block-sparse; flash-tc fp16 and
// bf16 on tensor cores), so an experiment in one dtype can never show all of them side by side. A view that
// compares algorithms runs each at the experiment's dtype when the backend supports it there, else at the closest
// dtype the backend does support, and labels it with that dtype ("flash fp32", "flash-tc fp16"). Only the dtype is
// substituted: an algorithm refused at every dtype (no kernel, head_dim, device) stays refused, with the reason.
//
// Closeness: the experiment's own dtype first; from fp16 or bf16 next fp32 (it holds their values exactly, so the
// inputs are the same numbers), then the other 16-bit type; from fp32 next fp16 (more mantissa than bf16), then bf16.
#pragma once
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace attnscope::gui {

inline std::vector<DType> dtype_candidates(DType experiment) {
  switch (experiment) {
    case DType::F16: return {DType::F16, DType::F32, DType::BF16};
    case DType::BF16: return {DType::BF16, DType::F32, DType::F16};
    case DType::F32: break;
  }
  return {DType::F32, DType::F16, DType::BF16};
}

struct RunDtype {
  bool ok = false;
  DType dtype = DType::F32;  // what the algorithm runs at (when ok)
  bool substituted = false;  // dtype differs from the experiment's
  std::string refused;       // why the experiment's dtype was refused (substituted or not ok), the backend's words
};

// Asks backend.supports() (cheap, no device work) at each candidate dtype in order of closeness.
inline RunDtype choose_run_dtype(const Backend& backend, Algorithm algorithm, const AttentionSpec& spec) {
  RunDtype out;
  AttentionSpec s = spec;
  std::string why_experiment, other_reasons;
  for (DType d : dtype_candidates(spec.dtype)) {
    s.dtype = d;
    std::string why;
    if (backend.supports(algorithm, s, &why)) {
      out.ok = true;
      out.dtype = d;
      out.substituted = d != spec.dtype;
      out.refused = why_experiment;
      return out;
    }
    if (d == spec.dtype) why_experiment = why;
    else if (why != why_experiment && other_reasons.find(why) == std::string::npos)
      other_reasons += std::string("; at ") + dtype_name(d) + ": " + why;
  }
  out.refused = why_experiment + other_reasons;
  return out;
}

// "flash fp32": an algorithm's name with the dtype it ran at.
inline std::string algorithm_with_dtype(Algorithm algorithm, DType dtype) {
  return std::string(algorithm_name(algorithm)) + " " + dtype_name(dtype);
}

}  // namespace attnscope::gui
