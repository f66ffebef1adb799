// test_format.cpp — the app's one formatter of times, bytes and token counts (widgets/format.hpp).
#include <doctest/doctest.h>

#include "app/gui/widgets/format.hpp"

using namespace attnscope::gui;

TEST_CASE("format: times keep three significant digits in the unit that suits them") {
  CHECK(format_time_ns(850) == "850 ns");
  CHECK(format_time_ns(12345) == "12.3 µs");
  CHECK(format_time_ns(1.234e6) == "1.23 ms");
  CHECK(format_time_ms(0.456) == "456 µs");
  CHECK(format_time_ms(12.34) == "12.3 ms");
  CHECK(format_time_ms(1234) == "1.23 s");
  CHECK(format_time_ms(0) == "—");
  CHECK(format_time_ms_table(218.4) == "218 ms");
  CHECK(format_time_ms_table(3.4) == "3.40 ms");
  CHECK(format_time_ms_table(0.085) == "85.0 µs");
  CHECK(format_time_range_ms(36.2, 31.6, 40.1) == "36.2 ms (31.6 – 40.1)");
  // A slow outlier in the median's unit stays a plain number (seen in the flash counters at 1920×1080).
  CHECK(format_time_range_ms(0.403, 0.321, 2.96) == "403 µs (321 – 2960)");
}

TEST_CASE("format: bytes use binary prefixes; token counts k = 1024") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(16384) == "16.0 KiB");
  CHECK(format_bytes(256.0 * 1024 * 1024) == "256.0 MiB");
  CHECK(format_tokens(256) == "256");
  CHECK(format_tokens(2048) == "2k");
  CHECK(format_tokens(1536) == "1.5k");
  CHECK(format_tokens_exact(1500) == "1500");
  CHECK(format_tokens_exact(65536) == "64k");
  CHECK(format_flops_rate(1.2e12) == "1.2 TFLOP/s");
  CHECK(format_rate(2530.4) == "2530");
}

TEST_CASE("format: a byte count in a chosen binary unit, and at a power of two") {
  CHECK(binary_unit_of(1023) == 0);
  CHECK(binary_unit_of(1024) == 1);
  CHECK(binary_unit_of(3.0 * (1 << 30)) == 3);
  CHECK(binary_unit_name(2) == std::string("MiB"));
  CHECK(format_bytes_in_unit(512.0 * (1 << 20), 3, 1) == "0.5 GiB");
  CHECK(format_bytes_in_unit(256.0 * (1 << 20), 2, 0) == "256 MiB");
  CHECK(format_bytes_in_unit(0, 3, 1) == "0");
  CHECK(format_bytes_round(1024) == "1 KiB");
  CHECK(format_bytes_round(32.0 * (1 << 20)) == "32 MiB");
  CHECK(format_bytes_round(512) == "512 B");
  CHECK(format_bytes(4.0e10) == "37.3 GiB");  // never a decimal "40.0 GB"
  CHECK(format_bandwidth(11.7e9) == "10.9 GiB/s");  // a copy benchmark's 11.7 GB/s, in the app's one unit
}
