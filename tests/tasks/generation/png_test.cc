// The PNG encoder's output read back by libpng's own decoder: signature, IHDR, pixels.
#include "tasks/generation/png.h"

#include <png.h>

#include "gtest/gtest.h"

namespace gs::diffusion {
namespace {

uint32_t BigEndian(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

TEST(EncodeGrayPng, ValidFileWithTheRightHeaderAndPixels) {
  const int64_t width = 5, height = 3;
  std::vector<uint8_t> pixels(width * height);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(17 * i);
  absl::StatusOr<std::string> png = EncodeGrayPng(width, height, pixels);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_GT(png->size(), 33u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(BigEndian(*png, 8), 13u);  // IHDR length
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian(*png, 16), 5u);
  EXPECT_EQ(BigEndian(*png, 20), 3u);
  EXPECT_EQ((*png)[24], 8);  // bit depth
  EXPECT_EQ((*png)[25], 0);  // colour type: grayscale
  EXPECT_EQ(png->substr(png->size() - 8, 4), "IEND");

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&image, png->data(), png->size()));
  EXPECT_EQ(image.width, 5u);
  EXPECT_EQ(image.height, 3u);
  image.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> decoded(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, decoded.data(), 0, nullptr));
  EXPECT_EQ(decoded, pixels);
}

TEST(EncodeGrayPng, SizeMismatchIsInvalidArgument) {
  EXPECT_EQ(EncodeGrayPng(4, 4, std::vector<uint8_t>(15)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeGrayPng(0, 4, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gs::diffusion
