// cuda_backend.hpp — core::Backend on an NVIDIA GPU. Returns nullptr with a reason when no usable
// device exists (none present, driver too old, CUDA error), so the app can fall back to the CPU.
#pragma once
#include <memory>
#include <string>

#include "core/backend.hpp"

namespace attnscope::kernels {

std::unique_ptr<Backend> make_cuda_backend(std::string* why_not);

}  // namespace attnscope::kernels
