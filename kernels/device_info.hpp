// device_info.hpp — what the CUDA layer knows about the machine's GPUs, in plain C++ for the app's status
// bar and `attnscope devices`. Every field is read from the driver/runtime, never typed in.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::kernels {

struct DeviceInfo {
  int index = 0;
  std::string name;                    // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;      // compute capability
  int sm_count = 0;
  int sm_clock_khz = 0;                // peak SM clock
  int memory_clock_khz = 0;            // peak memory clock
  int memory_bus_bits = 0;
  uint64_t total_bytes = 0, free_bytes = 0;
  int l2_bytes = 0;
  int shared_per_block_optin = 0;      // the most dynamic shared memory one block may ask for
  int driver_version = 0, runtime_version = 0;  // 12080 = 12.8
  // Theoretical DRAM bandwidth: 2 (double data rate) x memory clock x bus width. A ceiling, not a measurement.
  double theoretical_bandwidth_gbs() const;
  std::string compute_capability() const { return std::to_string(cc_major) + "." + std::to_string(cc_minor); }
  // "NVIDIA H100 80GB HBM3 · sm_90 · 132 SMs · 79.1 GiB free of 79.6 GiB"
  std::string summary() const;
};

// Every visible device, or empty with `why_not` naming the reason (no device, driver older than the
// runtime this build needs, CUDA error).
std::vector<DeviceInfo> list_cuda_devices(std::string* why_not);

// "12.8" from 12080.
std::string cuda_version_string(int version);

}  // namespace attnscope::kernels
