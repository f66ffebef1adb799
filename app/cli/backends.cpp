// backends.cpp — see backends.hpp.
#include "app/cli/backends.hpp"

#include "core/cpu_backend.hpp"
#if defined(ATTNSCOPE_WITH_CUDA)
#include "kernels/cuda_backend.hpp"
#endif

namespace attnscope::app {

bool cuda_built() {
#if defined(ATTNSCOPE_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

std::string backend_name_problem(const std::string& name) {
  if (name == "cpu" || name == "cuda") return "";
  return "'" + name + "' is not a backend (choose cpu or cuda)";
}

std::unique_ptr<Backend> make_backend(const std::string& name, std::string* why_not) {
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") {
#if defined(ATTNSCOPE_WITH_CUDA)
    return kernels::make_cuda_backend(why_not);
#else
    if (why_not) *why_not = "this build has no CUDA backend (no CUDA compiler was found at configure time)";
    return nullptr;
#endif
  }
  if (why_not) *why_not = "unknown backend '" + name + "' (choose cpu or cuda)";
  return nullptr;
}

}  // namespace attnscope::app
