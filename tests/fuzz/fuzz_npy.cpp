// fuzz_npy.cpp — libFuzzer target: any bytes as a .npy file. parse_npy must return an array or an error, never
// crash, hang or allocate more than the header's shape justifies against the bytes given.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  attnscope::NpyReadResult r = attnscope::parse_npy(bytes, "fuzz.npy");
  (void)r;
  return 0;
}
