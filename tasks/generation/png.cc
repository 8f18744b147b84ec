#include "tasks/generation/png.h"

#include <png.h>

#include <csetjmp>

#include "absl/strings/str_cat.h"

namespace gs::diffusion {
namespace {

void Append(png_structp png, png_bytep data, png_size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}

void Flush(png_structp) {}

// Encodes into `out`; false if libpng reported an error. No object with a destructor
// lives between setjmp and the calls that may longjmp back to it.
bool Encode(png_uint_32 width, png_uint_32 height, const uint8_t* pixels, std::string* out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, Append, Flush);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (png_uint_32 row = 0; row < height; ++row) {
    png_write_row(png, const_cast<png_bytep>(pixels + static_cast<size_t>(row) * width));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodeGrayPng(int64_t width, int64_t height,
                                          const std::vector<uint8_t>& pixels) {
  if (width <= 0 || height <= 0 || width > (1 << 24) || height > (1 << 24) ||
      static_cast<int64_t>(pixels.size()) != width * height) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PNG image of ", width, " x ", height, " pixels needs ", width * height,
        " bytes of pixels (positive sizes), got ", pixels.size()));
  }
  std::string out;
  if (!Encode(static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), pixels.data(),
              &out)) {
    return absl::InternalError("libpng failed to encode the image");
  }
  return out;
}

}  // namespace gs::diffusion
