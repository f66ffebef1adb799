// cpu_backend.hpp — core::Backend on the CPU: the reference and the CPU twins of every kernel.
// Always available; multithreaded.
#pragma once
#include <memory>

#include "core/backend.hpp"

namespace attnscope {

std::unique_ptr<Backend> make_cpu_backend(int threads = 0);  // 0 = hardware concurrency

// The pooled picture of S or P on the CPU (also used by tests as the twin of the GPU pooling kernel).
ScoreImage cpu_score_image(const ScoreImageRequest& request, int threads);

}  // namespace attnscope
