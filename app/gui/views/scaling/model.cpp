// model.cpp — the Scaling mode's model: the algorithms a timing run tries, their labels, the sweep it starts with.
#include "app/gui/views/scaling/model.hpp"

namespace attnscope::gui {

std::vector<Algorithm> timed_algorithms() {
  // The lesson's three first (naive, the fp32 teaching kernel, the tensor-core kernel), then the other orders.
  return {Algorithm::Naive,  Algorithm::Flash,       Algorithm::FlashTensorCore,
          Algorithm::Flash1, Algorithm::BlockSparse, Algorithm::Gathered};
}

SweepConfig initial_sweep_config(const AttentionSpec& experiment, const BackendCapabilities& backend,
                                 const std::string& sparse_mask) {
  SweepConfig c = default_sweep_config(sparse_mask);
  c.heads = experiment.q_heads;
  c.head_dim = experiment.head_dim;
  c.dtype = DType::F32;  // the fp32 kernels run on every backend
  c.time_cap_s = backend.sweep_time_cap_s;
  return c;
}

std::string timing_label(const AlgorithmTiming& timing) { return algorithm_with_dtype(timing.algorithm, timing.dtype); }

}  // namespace attnscope::gui
