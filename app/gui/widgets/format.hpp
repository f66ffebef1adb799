// format.hpp — the one place the app turns numbers into text: times, bytes (binary prefixes), token counts and
// rates. No ImGui: built into the models library and usable from models, tasks and panels alike.
#pragma once
#include <cstdint>
#include <string>

namespace attnscope::gui {

// Times.
std::string format_time_ns(double ns);        // "850 ns", "12.3 µs", "1.23 ms", "2.1 s": three significant digits
std::string format_time_ms(double ms);        // "456 µs", "12.3 ms", "1.23 s"; "—" when not positive
std::string format_time_ms_table(double ms);  // "218 ms", "54.4 ms", "3.40 ms", "85.0 µs": fixed decimals per
                                              // magnitude, so a table's column lines up
// "36.2 ms (31.6 – 40.1)": a median, then min – max in the median's unit.
std::string format_time_range_ms(double median_ms, double min_ms, double max_ms);
// Bytes, binary prefixes: "512 B", "16.0 KiB", "1.3 GiB" (core's format_bytes_binary: one formatter for the app).
std::string format_bytes(double bytes);
// Bytes in a chosen binary unit, for axes whose ticks share one unit: unit_power k means 1024^k bytes (0 = B,
// 1 = KiB, 2 = MiB, 3 = GiB, 4 = TiB, 5 = PiB); `decimals` digits after the point: ("0.5 GiB", "256 MiB").
// Zero prints "0" (an axis' origin needs no unit).
std::string format_bytes_in_unit(double bytes, int unit_power, int decimals);
const char* binary_unit_name(int unit_power);  // "B", "KiB", ... "PiB"; clamped to 0..5
// The largest k (0..5) with 1024^k <= |bytes|: the unit a byte count reads best in (0 for |bytes| < 1024).
int binary_unit_of(double bytes);
// A byte count at a power of two (a log axis' tick): the shortest exact text, "1 KiB", "32 MiB", "512 B".
std::string format_bytes_round(double bytes);
// Token counts (sequence lengths, contexts): "256", "2k", "1.5k" (k = 1024: powers of two read better).
std::string format_tokens(double n);
// Token counts exactly: "2k" for a multiple of 1024, else every digit ("1500"): axes whose ticks fall on round
// decimal numbers.
std::string format_tokens_exact(double n);
// Rates.
std::string format_flops_rate(double flops_per_s);  // "1.2 TFLOP/s", "35 GFLOP/s"
std::string format_bandwidth(double bytes_per_s);  // bytes per second, binary prefixes: "11.7 GiB/s"
constexpr double kBytesPerGiB = 1073741824.0;       // 2^30: bandwidth axes and columns in GiB/s
std::string format_rate(double v);                  // three significant digits, whole numbers from 1000 up ("2530")

}  // namespace attnscope::gui
