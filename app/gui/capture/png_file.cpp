// png_file.cpp — libpng's classic API, memory in and out (see png_file.hpp). libpng reports errors by longjmp to
// the setjmp in the function that called it; everything that must survive the jump is set up before setjmp.
#include "app/gui/capture/png_file.hpp"

#include <png.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace attnscope::gui::capture {
namespace {

struct WriteTarget {
  std::string* bytes;
};
void write_to_string(png_structp png, png_bytep data, png_size_t length) {
  auto* target = static_cast<WriteTarget*>(png_get_io_ptr(png));
  target->bytes->append(reinterpret_cast<const char*>(data), length);
}
void flush_nothing(png_structp) {}

struct ReadSource {
  const std::string* bytes;
  size_t offset;
};
void read_from_string(png_structp png, png_bytep data, png_size_t length) {
  auto* source = static_cast<ReadSource*>(png_get_io_ptr(png));
  if (source->offset + length > source->bytes->size()) png_error(png, "the file ends early");
  std::memcpy(data, source->bytes->data() + source->offset, length);
  source->offset += length;
}

// libpng's message, kept for our error text (the default handler prints to stderr and aborts the process's jump).
void on_error(png_structp png, png_const_charp message) {
  auto* error = static_cast<std::string*>(png_get_error_ptr(png));
  if (error) *error = message;
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// The libpng calls that may longjmp back here, kept apart from every C++ object (a longjmp may clobber locals of
// the function that called setjmp and skips destructors). false when libpng reported an error.
bool write_with_libpng(png_structp png, png_infop info, WriteTarget* target, const png_const_bytep* rows,
                       png_text* chunks, int chunk_count, int width, int height) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, target, write_to_string, flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGBA,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (chunk_count > 0) png_set_text(png, info, chunks, chunk_count);
  png_write_info(png, info);
  png_write_image(png, const_cast<png_bytepp>(rows));
  png_write_end(png, info);
  return true;
}

bool read_header_with_libpng(png_structp png, png_infop info, ReadSource* source, png_uint_32* width,
                             png_uint_32* height) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, source, read_from_string);
  png_read_info(png, info);
  // Every colour type and depth to RGBA8.
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_gray_to_rgb(png);
  png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
  png_read_update_info(png, info);
  *width = png_get_image_width(png, info);
  *height = png_get_image_height(png, info);
  if (static_cast<uint64_t>(*width) * *height > (1ull << 28)) png_error(png, "the image is larger than 2^28 pixels");
  return true;
}

bool read_image_with_libpng(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

}  // namespace

bool encode_png(const uint8_t* rgba, int width, int height, const std::vector<PngText>& texts, std::string* png_bytes,
                std::string* error) {
  if (width <= 0 || height <= 0 || !rgba) {
    *error = "cannot encode a PNG of " + std::to_string(width) + "x" + std::to_string(height) + " pixels";
    return false;
  }
  std::string libpng_message;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &libpng_message, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, nullptr);
    *error = "libpng could not start (out of memory?)";
    return false;
  }
  std::vector<png_const_bytep> rows(static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) rows[static_cast<size_t>(y)] = rgba + static_cast<size_t>(y) * width * 4;
  std::vector<png_text> chunks(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::memset(&chunks[i], 0, sizeof(png_text));
    chunks[i].compression = PNG_ITXT_COMPRESSION_NONE;
    chunks[i].key = const_cast<png_charp>(texts[i].first.c_str());
    chunks[i].text = const_cast<png_charp>(texts[i].second.c_str());
    chunks[i].itxt_length = texts[i].second.size();
  }
  std::string out;
  WriteTarget target{&out};
  const bool ok = write_with_libpng(png, info, &target, rows.data(), chunks.data(), static_cast<int>(chunks.size()),
                                    width, height);
  png_destroy_write_struct(&png, &info);
  if (!ok) {
    *error = "libpng could not encode the image: " + libpng_message;
    return false;
  }
  *png_bytes = std::move(out);
  return true;
}

bool decode_png(const std::string& bytes, DecodedPng* out, std::string* error) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    *error = "not a PNG file (its signature is missing)";
    return false;
  }
  std::string libpng_message;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &libpng_message, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    *error = "libpng could not start (out of memory?)";
    return false;
  }
  ReadSource source{&bytes, 0};
  DecodedPng result;
  png_uint_32 width = 0, height = 0;
  bool ok = read_header_with_libpng(png, info, &source, &width, &height);
  if (ok) {
    result.width = static_cast<int>(width);
    result.height = static_cast<int>(height);
    result.rgba.resize(static_cast<size_t>(width) * height * 4);
    std::vector<png_bytep> rows(height);
    for (png_uint_32 y = 0; y < height; ++y) rows[y] = result.rgba.data() + static_cast<size_t>(y) * width * 4;
    ok = read_image_with_libpng(png, info, rows.data());
  }
  if (ok) {
    png_textp text = nullptr;
    const int count = png_get_text(png, info, &text, nullptr);
    for (int i = 0; i < count; ++i) {
      const size_t length = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length : text[i].text_length;
      result.texts.emplace_back(text[i].key, std::string(text[i].text, length));
    }
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) {
    *error = "the PNG could not be read: " + libpng_message;
    return false;
  }
  *out = std::move(result);
  return true;
}

bool read_png_file(const std::string& path, DecodedPng* out, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "cannot open '" + path + "'";
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::string why;
  if (!decode_png(bytes, out, &why)) {
    *error = "'" + path + "': " + why;
    return false;
  }
  return true;
}

}  // namespace attnscope::gui::capture
