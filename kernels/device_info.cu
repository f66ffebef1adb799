// device_info.cu — device discovery (device_info.hpp) and the dtype upload/download helpers of cuda_util.cuh.
#include "kernels/common/cuda_util.cuh"
#include "kernels/device_info.hpp"

#include <cstdio>

#include "core/cuda_availability.hpp"

static_assert(attnscope::kCudaSuccess == cudaSuccess);
static_assert(attnscope::kCudaErrorInsufficientDriver == cudaErrorInsufficientDriver);
static_assert(attnscope::kCudaErrorNoDevice == cudaErrorNoDevice);

namespace attnscope::kernels {

double DeviceInfo::theoretical_bandwidth_gbs() const {
  return 2.0 * memory_clock_khz * 1e3 * (memory_bus_bits / 8.0) / 1e9;
}

std::string DeviceInfo::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s · sm_%d%d · %d SMs · %s free of %s", name.c_str(), cc_major, cc_minor, sm_count,
                format_bytes_binary(static_cast<double>(free_bytes)).c_str(),
                format_bytes_binary(static_cast<double>(total_bytes)).c_str());
  return buf;
}

std::string cuda_version_string(int v) { return cuda_version_text(v); }

std::vector<DeviceInfo> list_cuda_devices(std::string* why_not) {
  std::vector<DeviceInfo> out;
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (why_not) {
      CudaProbe probe;
      probe.error_code = static_cast<int>(err);
      probe.device_count = count;
      probe.driver_version = driver;
      probe.runtime_version = runtime;
      probe.error_name = cudaGetErrorName(err);
      probe.error_text = cudaGetErrorString(err);
      *why_not = cuda_unavailable_message(probe);
    }
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    d.sm_count = p.multiProcessorCount;
    cudaDeviceGetAttribute(&d.sm_clock_khz, cudaDevAttrClockRate, i);
    cudaDeviceGetAttribute(&d.memory_clock_khz, cudaDevAttrMemoryClockRate, i);
    cudaDeviceGetAttribute(&d.memory_bus_bits, cudaDevAttrGlobalMemoryBusWidth, i);
    d.l2_bytes = p.l2CacheSize;
    d.shared_per_block_optin = static_cast<int>(p.sharedMemPerBlockOptin);
    d.total_bytes = p.totalGlobalMem;
    d.driver_version = driver;
    d.runtime_version = runtime;
    int previous = 0;
    cudaGetDevice(&previous);
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
      d.free_bytes = free_b;
      d.total_bytes = total_b;
    }
    cudaSetDevice(previous);
    out.push_back(d);
  }
  if (out.empty() && why_not) *why_not = "CUDA reported devices but none could be queried";
  return out;
}

namespace {
template <class T>
__global__ void convert_from_float(const float* __restrict__ in, T* __restrict__ out, size_t count) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    out[i] = from_float<T>(in[i]);
}
template <class T>
__global__ void convert_to_float(const T* __restrict__ in, float* __restrict__ out, size_t count) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    out[i] = to_float(in[i]);
}
unsigned grid_for(size_t count) { return static_cast<unsigned>(std::min<size_t>((count + 255) / 256, 65535)); }
}  // namespace

void upload_as(DType dtype, const float* host, size_t count, DeviceBuffer& out, cudaStream_t stream) {
  out.allocate(count * dtype_bytes(dtype));
  if (count == 0) return;
  if (dtype == DType::F32) {
    CUDA_CHECK(cudaMemcpyAsync(out.get(), host, count * 4, cudaMemcpyHostToDevice, stream));
    return;
  }
  DeviceBuffer staging(count * 4);
  CUDA_CHECK(cudaMemcpyAsync(staging.get(), host, count * 4, cudaMemcpyHostToDevice, stream));
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    convert_from_float<T><<<grid_for(count), 256, 0, stream>>>(staging.get<float>(), out.get<T>(), count);
  });
  CUDA_CHECK_LAUNCH("convert_from_float");
  CUDA_CHECK(cudaStreamSynchronize(stream));  // staging is freed on return
}

void download_as_float(DType dtype, const void* device, size_t count, float* host, cudaStream_t stream) {
  if (count == 0) return;
  if (dtype == DType::F32) {
    CUDA_CHECK(cudaMemcpyAsync(host, device, count * 4, cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }
  DeviceBuffer staging(count * 4);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    convert_to_float<T><<<grid_for(count), 256, 0, stream>>>(static_cast<const T*>(device), staging.get<float>(), count);
  });
  CUDA_CHECK_LAUNCH("convert_to_float");
  CUDA_CHECK(cudaMemcpyAsync(host, staging.get(), count * 4, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace attnscope::kernels
