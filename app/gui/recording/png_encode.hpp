// png_encode.hpp — an RGBA8 image as PNG bytes in memory (stb_image_write), written by the caller through
// core/atomic_file (so a frame on disk is whole or absent).
#pragma once
#include <cstdint>
#include <string>

namespace attnscope::gui {

// `rgba`: width × height pixels, rows `stride` bytes apart, top row first. "" when stb fails (out of memory).
std::string encode_png(const uint8_t* rgba, int width, int height, int stride);

}  // namespace attnscope::gui
