// 8-bit grayscale PNG encoding through libpng (for sample grids).
#ifndef GS_TASKS_GENERATION_PNG_H_
#define GS_TASKS_GENERATION_PNG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gs::diffusion {

// The PNG file bytes of a width x height grayscale image, `pixels` row by row from the
// top (width * height bytes). InvalidArgument for a size mismatch or an empty image.
absl::StatusOr<std::string> EncodeGrayPng(int64_t width, int64_t height,
                                          const std::vector<uint8_t>& pixels);

}  // namespace gs::diffusion

#endif  // GS_TASKS_GENERATION_PNG_H_
