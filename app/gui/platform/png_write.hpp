// png_write.hpp — writes an RGBA8 image (top row first) to a PNG file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::gui {

// false with `error` naming the path and the problem.
bool write_png(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height, std::string* error);

}  // namespace attnscope::gui
