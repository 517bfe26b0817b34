// stb_image_write's implementation, for the tests that need a JPEG file. Its
// own translation unit so the sanitizer build can exempt third-party code:
// stbiw__jpg_writeBits left-shifts negative values (UBSan "shift-base"),
// which tests/CMakeLists.txt turns off for this file only.
#if __has_include(<stb/stb_image_write.h>)
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
#endif
