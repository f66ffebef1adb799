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
// Bytes, binary prefixes: "512 B", "16.0 KiB", "1.3 GiB".
std::string format_bytes(double bytes);
// Token counts (sequence lengths, contexts): "256", "2k", "1.5k" (k = 1024: powers of two read better).
std::string format_tokens(double n);
// Token counts exactly: "2k" for a multiple of 1024, else every digit ("1500"): axes whose ticks fall on round
// decimal numbers.
std::string format_tokens_exact(double n);
// Rates.
std::string format_flops_rate(double flops_per_s);  // "1.2 TFLOP/s", "35 GFLOP/s"
std::string format_rate(double v);                  // three significant digits, whole numbers from 1000 up ("2530")

}  // namespace attnscope::gui
