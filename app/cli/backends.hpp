// backends.hpp — makes the backend a user names. The CPU backend always exists; CUDA when built and a
// device answers. When CUDA is unavailable, `why_not` says why (not built, no device, driver too old).
#pragma once
#include <memory>
#include <string>

#include "core/backend.hpp"

namespace attnscope::app {

std::unique_ptr<Backend> make_backend(const std::string& name, std::string* why_not);
bool cuda_built();
// "" for a backend name this program knows (cpu, cuda — whether or not it is available here), else
// "'NAME' is not a backend (choose cpu or cuda)": a usage error, where an unavailable backend is a failure.
std::string backend_name_problem(const std::string& name);

}  // namespace attnscope::app
