// png_file.hpp — PNG encoding with text chunks through libpng (stb_image_write cannot write text chunks): a
// screenshot carries its experiment and view as an iTXt chunk, and tests read the chunks back.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attnscope::gui::capture {

using PngText = std::pair<std::string, std::string>;  // keyword (1..79 Latin-1 characters), UTF-8 text

// The PNG file's bytes for an RGBA8 image (top row first), with `texts` as iTXt chunks before the pixels.
// false with `error` set when libpng refuses (size 0, buffer too small).
bool encode_png(const uint8_t* rgba, int width, int height, const std::vector<PngText>& texts, std::string* png,
                std::string* error);

// Reads a PNG file's pixels (RGBA8) and its text chunks (tEXt, zTXt, iTXt). false with `error` naming the path.
struct DecodedPng {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;
  std::vector<PngText> texts;
};
bool decode_png(const std::string& bytes, DecodedPng* out, std::string* error);
bool read_png_file(const std::string& path, DecodedPng* out, std::string* error);

}  // namespace attnscope::gui::capture
