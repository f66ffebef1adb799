// png_write.cpp — PNG output through stb_image_write (the one translation unit with its implementation).
#include "app/gui/platform/png_write.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace attnscope::gui {

bool write_png(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height, std::string* error) {
  if (rgba.size() != static_cast<size_t>(width) * height * 4) {
    *error = "internal: image buffer does not match " + std::to_string(width) + "x" + std::to_string(height);
    return false;
  }
  errno = 0;
  if (!stbi_write_png(path.c_str(), width, height, 4, rgba.data(), width * 4)) {
    *error = "cannot write PNG '" + path + "'" + (errno ? std::string(": ") + std::strerror(errno) : std::string()) +
             " (does the directory exist and is it writable?)";
    return false;
  }
  return true;
}

}  // namespace attnscope::gui
