// format.cpp — numbers as text (see format.hpp).
#include "app/gui/widgets/format.hpp"

#include <cmath>
#include <cstdio>

#include "core/spec.hpp"

namespace attnscope::gui {

std::string format_time_ns(double ns) {
  char buf[48];
  const double a = std::abs(ns);
  if (a < 1e3) std::snprintf(buf, sizeof buf, "%.0f ns", ns);
  else if (a < 1e6) std::snprintf(buf, sizeof buf, "%.3g µs", ns * 1e-3);
  else if (a < 1e9) std::snprintf(buf, sizeof buf, "%.3g ms", ns * 1e-6);
  else std::snprintf(buf, sizeof buf, "%.3g s", ns * 1e-9);
  return buf;
}

std::string format_time_ms(double ms) {
  char buf[48];
  if (!(ms > 0)) return "—";
  if (ms < 1) std::snprintf(buf, sizeof buf, "%.3g µs", ms * 1e3);
  else if (ms < 1000) std::snprintf(buf, sizeof buf, "%.3g ms", ms);
  else std::snprintf(buf, sizeof buf, "%.3g s", ms * 1e-3);
  return buf;
}

std::string format_time_ms_table(double ms) {
  char b[48];
  if (ms >= 1000) {
    std::snprintf(b, sizeof b, "%.3g s", ms * 1e-3);
    return b;
  }
  std::snprintf(b, sizeof b, ms >= 100 ? "%.0f ms" : ms >= 10 ? "%.1f ms" : ms >= 0.1 ? "%.2f ms" : "%.1f µs",
                ms >= 0.1 ? ms : ms * 1e3);
  return b;
}

std::string format_time_range_ms(double median_ms, double min_ms, double max_ms) {
  double unit = 1.0;  // ms
  const char* name = "ms";
  if (median_ms < 1e-3) { unit = 1e-6; name = "ns"; }
  else if (median_ms < 1.0) { unit = 1e-3; name = "µs"; }
  else if (median_ms >= 1e3) { unit = 1e3; name = "s"; }
  // Three significant digits, but whole numbers from 1000 up: a slow outlier reads "2960", never "2.96e+03".
  auto digits = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, std::abs(v) >= 1000 ? "%.0f" : "%.3g", v);
    return std::string(b);
  };
  return digits(median_ms / unit) + " " + name + " (" + digits(min_ms / unit) + " – " + digits(max_ms / unit) + ")";
}

std::string format_bytes(double bytes) { return format_bytes_binary(bytes); }

const char* binary_unit_name(int unit_power) {
  static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return names[unit_power < 0 ? 0 : unit_power > 5 ? 5 : unit_power];
}

int binary_unit_of(double bytes) {
  const double a = std::fabs(bytes);
  int k = 0;
  while (k < 5 && a >= std::ldexp(1.0, 10 * (k + 1))) ++k;
  return k;
}

std::string format_bytes_in_unit(double bytes, int unit_power, int decimals) {
  if (bytes == 0) return "0";
  const int k = unit_power < 0 ? 0 : unit_power > 5 ? 5 : unit_power;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f %s", decimals < 0 ? 0 : decimals > 6 ? 6 : decimals,
                bytes / std::ldexp(1.0, 10 * k), binary_unit_name(k));
  return buf;
}

std::string format_bytes_round(double bytes) {
  const int k = binary_unit_of(bytes);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4g %s", bytes / std::ldexp(1.0, 10 * k), binary_unit_name(k));
  return buf;
}

std::string format_tokens(double n) {
  char buf[32];
  if (n >= 1024 && std::fmod(n, 1024.0) == 0) std::snprintf(buf, sizeof buf, "%.0fk", n / 1024);
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1fk", n / 1024);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string format_tokens_exact(double n) {
  char buf[32];
  if (n >= 1024 && std::fmod(n, 1024.0) == 0) std::snprintf(buf, sizeof buf, "%.0fk", n / 1024);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string format_flops_rate(double flops_per_s) {
  char buf[48];
  if (flops_per_s >= 1e12) std::snprintf(buf, sizeof buf, "%.3g TFLOP/s", flops_per_s * 1e-12);
  else std::snprintf(buf, sizeof buf, "%.3g GFLOP/s", flops_per_s * 1e-9);
  return buf;
}

std::string format_bandwidth(double bytes_per_s) { return format_bytes(bytes_per_s) + "/s"; }

std::string format_rate(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v >= 1000 ? "%.0f" : "%.3g", v);
  return b;
}

}  // namespace attnscope::gui
