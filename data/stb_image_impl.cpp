// stb_image's implementation, in its own translation unit so the sanitizer
// builds can exempt third-party code from one check: stbi__getn calls
// memcpy(NULL, src, 0) for an empty first PNG data chunk (undefined by the
// letter of C, harmless with a size of 0; UBSan "nonnull-attribute", found by
// tests/fuzz), which tests/CMakeLists.txt and tests/fuzz/CMakeLists.txt turn
// off for this file only. What stb gets wrong in memory, retort guards
// against before calling it (data/stb_guard.h).
//
// Only the formats image folders hold; retort reads the bytes itself, so no
// stdio. stb's own code is not -Wextra clean, and it is not ours to fix.
#ifdef RETORT_WITH_STB
#include <cstdlib>

#include "data/stb_guard.h"

#define STBI_MALLOC(n) ::retort::data::stb_malloc(n)
#define STBI_REALLOC(p, n) ::retort::data::stb_realloc(p, n)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include "stb_image.h"
#pragma GCC diagnostic pop
#endif
