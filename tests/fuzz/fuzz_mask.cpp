// fuzz_mask.cpp — libFuzzer target: any text as a mask. parse_mask must accept or explain; an accepted mask must
// print back to text that parses to the same text, and evaluating it must stay defined (UBSan watches overflow).
// The row-by-row allowed-pair count (core/allowed_pairs.hpp) must equal brute force on a small odd-sized spec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/allowed_pairs.hpp"
#include "core/mask.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  attnscope::MaskParseResult r = attnscope::parse_mask(text);
  if (!r.ok) return 0;
  const std::string canonical = r.mask.to_string();
  attnscope::MaskParseResult again = attnscope::parse_mask(canonical);
  if (!again.ok || again.mask.to_string() != canonical) std::abort();  // the text form must round-trip
  const attnscope::MaskView view = r.mask.view();
  bool sink = false;
  for (int64_t q : {int64_t{0}, int64_t{1}, int64_t{63}, int64_t{1} << 20, (int64_t{1} << 40) - 1})
    for (int64_t k : {int64_t{0}, int64_t{5}, int64_t{64}, int64_t{1} << 20, (int64_t{1} << 40) - 1})
      sink ^= view.allowed(q, k);
  (void)sink;
  attnscope::AttentionSpec spec;
  spec.q_len = 13;
  spec.kv_len = 23;
  spec.mask = r.mask;
  int64_t brute = 0;
  for (int64_t row = 0; row < spec.q_len; ++row)
    for (int64_t key = 0; key < spec.kv_len; ++key) brute += spec.allowed(view, row, key) ? 1 : 0;
  const attnscope::AllowedPairs counted = attnscope::count_allowed_pattern(spec);
  if (!counted.exact || counted.pairs != static_cast<double>(brute)) std::abort();
  return 0;
}
