// test_cuda_availability.cpp — no GPU, no driver and a driver older than the toolkit are each mapped to a message that
// says what happened and what to do (kernels/device_info.cu feeds the runtime's answers to this mapping).
#include <doctest/doctest.h>

#include <string>

#include "core/cuda_availability.hpp"

using namespace attnscope;

namespace {
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("cuda availability: a driver older than the toolkit names both versions and says to update the driver") {
  CudaProbe probe;
  probe.error_code = kCudaErrorInsufficientDriver;
  probe.driver_version = 11040;
  probe.runtime_version = 12080;
  probe.error_name = "cudaErrorInsufficientDriver";
  const std::string m = cuda_unavailable_message(probe);
  CHECK(has(m, "older than this build's CUDA toolkit"));
  CHECK(has(m, "supports CUDA 11.4"));
  CHECK(has(m, "needs CUDA 12.8"));
  CHECK(has(m, "update the NVIDIA driver"));
  CHECK(has(m, "--backend cpu"));
  // A driver too old to report its version still gets the update advice, not "no driver".
  probe.driver_version = 0;
  CHECK(has(cuda_unavailable_message(probe), "update the NVIDIA driver"));
}

TEST_CASE("cuda availability: no driver, no device and other errors each get their own message") {
  CudaProbe none;
  none.error_code = kCudaErrorNoDevice;
  none.driver_version = 0;
  CHECK(has(cuda_unavailable_message(none), "no NVIDIA driver is loaded: install the NVIDIA driver"));

  CudaProbe no_device;
  no_device.error_code = kCudaErrorNoDevice;
  no_device.driver_version = 12040;
  no_device.runtime_version = 12080;
  const std::string m = cuda_unavailable_message(no_device);
  CHECK(has(m, "no CUDA device found"));
  CHECK(has(m, "driver 12.4"));
  CHECK(has(m, "CUDA_VISIBLE_DEVICES"));
  CHECK(has(m, "--backend cpu"));
  // Success with zero devices reads the same.
  no_device.error_code = kCudaSuccess;
  CHECK(cuda_unavailable_message(no_device) == m);

  CudaProbe other;
  other.error_code = 999;
  other.driver_version = 12080;
  other.error_name = "cudaErrorUnknown";
  other.error_text = "unknown error";
  CHECK(cuda_unavailable_message(other) ==
        "no usable CUDA device: cudaErrorUnknown (unknown error); the CPU backend stays available (--backend cpu)");
  other.error_name.clear();
  other.error_text.clear();
  CHECK(has(cuda_unavailable_message(other), "error 999"));
}

TEST_CASE("cuda availability: versions read as major.minor") {
  CHECK(cuda_version_text(12080) == "12.8");
  CHECK(cuda_version_text(11040) == "11.4");
  CHECK(cuda_version_text(13000) == "13.0");
}
