// fault_injection.cpp — see fault_injection.hpp.
#include "kernels/fault_injection.hpp"

#include <atomic>

namespace attnscope::kernels {
namespace {
std::atomic<int64_t> allocations{0};
std::atomic<int64_t> fail_at{0};  // 0: none
}  // namespace

void fail_device_allocation_at(int64_t k) {
  fail_at = k > 0 ? k : 0;
  allocations = 0;
}

int64_t device_allocations_counted() { return allocations.load(); }

bool device_allocation_fails_now() {
  const int64_t n = ++allocations;
  int64_t armed = fail_at.load();
  return armed > 0 && n == armed && fail_at.compare_exchange_strong(armed, 0);  // once
}

}  // namespace attnscope::kernels
