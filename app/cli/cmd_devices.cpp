// cmd_devices.cpp — `attnscope devices`: the CUDA devices this build can use (or why none), and with --measure
// the device's measured copy bandwidth, the naive path's pieces against their prediction and flash fp32 next to
// naive, every ratio against a reference measured in the same run.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/args.hpp"
#include "app/cli/backends.hpp"
#include "app/cli/commands.hpp"
#if defined(ATTNSCOPE_WITH_CUDA)
#include "kernels/device_info.hpp"
#include "kernels/bench/measure.hpp"
#endif

namespace attnscope::app {
namespace {

constexpr const char* kHelp =
    "attnscope devices [--measure [--n 512,1024,...] [--heads H] [--d D] [--batch B] [--dtype fp16|bf16|fp32]\n"
    "                  [--mask SPEC] [--reps R] [--no-flash] [--json FILE]]\n"
    "\n"
    "Lists the CUDA devices this build can use: name, compute capability, SMs, clocks, memory. Without a usable\n"
    "device it says why (not built with CUDA, no driver, driver too old) and exits 1; the CPU backend stays.\n"
    "\n"
    "--measure   measures on device 0, in one run:\n"
    "            copy      device-to-device cudaMemcpy of 1 GiB, GB/s counting bytes read + written\n"
    "            softmax   the naive path's masked softmax: (S read + P written) / time, and its ratio to copy\n"
    "            naive     GEMM QKᵀ, softmax, GEMM PV and the whole path (storage --dtype, default fp16),\n"
    "                      against predicted = t(GEMMs) + softmax bytes / copy bandwidth\n"
    "            flash     the fp32 teaching kernel vs naive fp32 on the same problem, and its tracing overhead\n"
    "            defaults: --n 512,1024,2048,4096,8192,16384 --heads 16 --d 64 --batch 1 --reps 7\n"
    "            ranges: --n 1..1048576 each, --heads 1..4096, --d 1..128, --batch 1..65536, --reps 1..1000\n"
    "\n"
    "Exit status: 0 a device is usable (and measured); 1 no usable device or the measurement failed; 2 usage error.";

// Every flag of the command; all but --measure are the measurement's.
const std::vector<std::string> kDeviceFlags = {"--measure", "--n",    "--heads",    "--d",   "--batch", "--dtype",
                                               "--mask",    "--reps", "--no-flash", "--json"};

// Unknown flags, stray arguments, and a measurement flag given without --measure (it would be ignored).
std::vector<std::string> device_flag_errors(const Args& args) {
  std::vector<std::string> errors = args.errors(kDeviceFlags);
  if (!args.has("--measure"))
    for (const auto& flag : kDeviceFlags)
      if (flag != "--measure" && (args.get(flag) || args.has(flag))) errors.push_back(flag + " applies only with --measure");
  return errors;
}

#if defined(ATTNSCOPE_WITH_CUDA)
void print_device(const kernels::DeviceInfo& d) {
  std::printf("cuda:%d  %s\n", d.index, d.name.c_str());
  std::printf("        compute capability %s, %d SMs at up to %.0f MHz, L2 %s\n", d.compute_capability().c_str(),
              d.sm_count, d.sm_clock_khz / 1e3, format_bytes_binary(d.l2_bytes).c_str());
  std::printf("        memory %s total, %s free; %d-bit bus at %.0f MHz (theoretical %.0f GB/s)\n",
              format_bytes_binary(static_cast<double>(d.total_bytes)).c_str(),
              format_bytes_binary(static_cast<double>(d.free_bytes)).c_str(), d.memory_bus_bits,
              d.memory_clock_khz / 1e3, d.theoretical_bandwidth_gbs());
  std::printf("        shared memory per block up to %d KiB; driver CUDA %s, runtime %s\n",
              d.shared_per_block_optin / 1024, kernels::cuda_version_string(d.driver_version).c_str(),
              kernels::cuda_version_string(d.runtime_version).c_str());
}

int measure(Args& args) {
  kernels::MeasureConfig c;
  c.lengths = args.get_int_list("--n", c.lengths, 1, 1 << 20);
  c.heads = args.get_int("--heads", c.heads, 1, 4096);
  c.head_dim = args.get_int("--d", c.head_dim, 1, 128);
  c.batch = args.get_int("--batch", c.batch, 1, 65536);
  c.repetitions = static_cast<int>(args.get_int("--reps", c.repetitions, 1, 1000));  // int only after the check
  c.mask = args.get_or("--mask", c.mask);
  c.flash = !args.has("--no-flash");
  std::vector<std::string> errors = args.errors(kDeviceFlags);
  if (auto t = args.get("--dtype")) {
    if (auto parsed = parse_dtype(*t)) c.naive_dtype = *parsed;
    else errors.push_back("--dtype '" + *t + "': choose fp32, fp16 or bf16");
  }
  if (int rc = report_errors("devices", errors)) return rc;

  const auto report = kernels::measure_device(c);
  if (!report.error.empty()) {
    std::cerr << "attnscope devices --measure: " << report.error << "\n";
    return 1;
  }
  std::printf("\n%s — B=%lld H=%lld d=%lld mask %s; naive breakdown in %s; medians of %d after %d warm-up\n",
              report.device.c_str(), static_cast<long long>(c.batch), static_cast<long long>(c.heads),
              static_cast<long long>(c.head_dim), c.mask.c_str(), dtype_name(c.naive_dtype), c.repetitions, c.warmup);
  std::printf("copy bandwidth (device-to-device, 1 GiB, read + write): %.0f GB/s\n\n", report.copy_gbs);
  std::printf("%7s | %8s %8s %8s | %8s %9s %6s | %9s %7s | %9s %9s %8s %7s %8s\n", "N", "QK ms", "soft ms", "PV ms",
              "naive ms", "predicted", "ratio", "soft GB/s", "/copy", "naive32", "flash32", "fl/naive", "TFLOP/s",
              "trace+");
  for (const auto& r : report.rows) {
    if (r.skipped) {
      std::printf("%7lld | skipped: %s\n", static_cast<long long>(r.n), r.note.c_str());
      continue;
    }
    std::printf("%7lld | %8.3f %8.3f %8.3f | %8.3f %9.3f %6.2f | %9.0f %6.0f%% | %9.3f %9.3f %8.2f %7.2f %7.1f%%\n",
                static_cast<long long>(r.n), r.gemm_qk_ms, r.softmax_ms, r.gemm_pv_ms, r.naive_ms, r.predicted_ms,
                r.naive_over_predicted, r.softmax_gbs, 100 * r.softmax_ratio, r.naive_fp32_ms, r.flash_fp32_ms,
                r.naive_fp32_ms > 0 ? r.flash_fp32_ms / r.naive_fp32_ms : 0.0, r.flash_tflops, 100 * r.trace_overhead);
  }
  std::printf("\nsoftmax variants (forced), GB/s and ratio to copy:\n");
  for (const auto& r : report.rows) {
    if (r.skipped) continue;
    const double bytes = r.softmax_gbs * r.softmax_ms * 1e-3 * 1e9;  // S read + P written
    auto gbs = [&](double ms) { return ms > 0 ? bytes / (ms * 1e-3) / 1e9 : 0.0; };
    std::printf("%7lld | registers %8.3f ms %6.0f GB/s %4.0f%% | streaming %8.3f ms %6.0f GB/s %4.0f%%\n",
                static_cast<long long>(r.n), r.softmax_registers_ms, gbs(r.softmax_registers_ms),
                100 * gbs(r.softmax_registers_ms) / report.copy_gbs, r.softmax_streaming_ms,
                gbs(r.softmax_streaming_ms), 100 * gbs(r.softmax_streaming_ms) / report.copy_gbs);
  }
  std::printf("\nratio = naive / predicted (target <= 1.30); /copy = softmax bandwidth / copy bandwidth (target >= 70%%);\n"
              "fl/naive = flash fp32 time / naive fp32 time; trace+ = extra time of the instrumented flash launch\n");
  if (auto file = args.get("--json")) {
    nlohmann::json j;
    j["device"] = report.device;
    j["copy_gbs"] = report.copy_gbs;
    j["copy_bytes"] = report.copy_bytes;
    j["config"] = {{"batch", c.batch}, {"heads", c.heads}, {"head_dim", c.head_dim}, {"mask", c.mask},
                   {"naive_dtype", dtype_name(c.naive_dtype)}, {"repetitions", c.repetitions}};
    for (const auto& r : report.rows)
      j["rows"].push_back({{"n", r.n}, {"skipped", r.skipped}, {"note", r.note}, {"gemm_qk_ms", r.gemm_qk_ms},
                           {"softmax_ms", r.softmax_ms}, {"gemm_pv_ms", r.gemm_pv_ms}, {"naive_ms", r.naive_ms},
                           {"predicted_ms", r.predicted_ms}, {"naive_over_predicted", r.naive_over_predicted},
                           {"softmax_gbs", r.softmax_gbs}, {"softmax_ratio", r.softmax_ratio},
                           {"softmax_registers_ms", r.softmax_registers_ms},
                           {"softmax_streaming_ms", r.softmax_streaming_ms},
                           {"naive_fp32_ms", r.naive_fp32_ms}, {"flash_fp32_ms", r.flash_fp32_ms},
                           {"flash_traced_ms", r.flash_traced_ms}, {"trace_overhead", r.trace_overhead},
                           {"flash_tflops", r.flash_tflops}});
    std::ofstream out(*file);
    if (!out) {
      std::cerr << "attnscope devices: cannot write " << *file << "\n";
      return 1;
    }
    out << j.dump(2) << "\n";
  }
  return 0;
}
#endif

int run_devices(const std::vector<std::string>& argv) {
  Args args(argv, {"--measure", "--no-flash"});
  // A usage error is the same answer (2) with or without CUDA and devices: flags are checked first.
  if (int rc = report_errors("devices", device_flag_errors(args))) return rc;
  if (!cuda_built()) {
    std::cout << "CUDA: not available — this build has no CUDA backend (no CUDA compiler was found at configure "
                 "time).\nThe CPU backend is available.\n";
    return 1;
  }
#if defined(ATTNSCOPE_WITH_CUDA)
  std::string why;
  const auto devices = kernels::list_cuda_devices(&why);
  if (devices.empty()) {
    std::cout << "CUDA: not available — " << why << "\nThe CPU backend is available.\n";
    return 1;
  }
  for (const auto& d : devices) print_device(d);
  if (args.has("--measure")) return measure(args);
#endif
  return 0;
}

}  // namespace

const Command kDevicesCommand{"devices", "list CUDA devices (or say why there are none); --measure times the device",
                              kHelp, run_devices};

}  // namespace attnscope::app
