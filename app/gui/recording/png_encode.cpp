// png_encode.cpp — PNG bytes in memory through stb_image_write (its implementation compiled static here, as in
// platform/png_write.cpp: each translation unit has its own private copy).
#include "app/gui/recording/png_encode.hpp"

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

std::string encode_png(const uint8_t* rgba, int width, int height, int stride) {
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &bytes, width, height, 4, rgba, stride)) return {};
  return bytes;
}

}  // namespace attnscope::gui
