// Register-blocked tile kernels of the built-in convolution (conv.cpp), with
// no im2col matrix: the skinny GEMMs of small-channel convolutions (16-64
// output channels) spent more time packing the column matrix than multiplying.
// A tile keeps rows x (nb * kPanel) accumulators in registers, broadcasts one
// input scalar per row and loads one weight vector per panel.
//
// One kernel set per instruction set (AVX-512, AVX2+FMA, plain C++), chosen at
// run time together with the built-in GEMM's micro-kernel (gemm_builtin_isa).
#pragma once
#include <cstdint>

namespace retort {
namespace cpu {
namespace direct {

// Output channels per packed weight panel (one zmm, two ymm).
constexpr int64_t kPanel = 16;

// One tap of a gather tile: its inputs start at src + offset (plus row r's
// stride), its packed weights [len][kPanel] at w + woffset.
struct Tap {
  int64_t offset, woffset;
};

// out[r][j] = sum over taps t and c < len of
//   src[r * src_stride + taps[t].offset + c] * w[taps[t].woffset + b * panel_stride + c * kPanel + j % kPanel]
// with b = j / kPanel, for r < rows, j < cols (<= nb * kPanel). Output is
// overwritten (no taps: zeros). Forward convolution and backward-input use it.
struct GatherTile {
  const float* src;
  int64_t src_stride;
  const Tap* taps;
  int64_t ntaps, len;
  const float* w;
  int64_t panel_stride;
  float* out;
  int64_t out_stride, cols;
};

// acc[r * acc_stride + j] += sum over pixels (i, k) of
//   dy[i * dy_row + k * dy_col + r] * x[i * x_row + k * x_col + j]
// for r < rows, j < cols (<= nb * kPanel), i < height, k < width: the
// weight gradient of one tap for a block of output and input channels.
struct WeightTile {
  const float* x;
  int64_t x_col, x_row;
  const float* dy;
  int64_t dy_col, dy_row;
  int64_t height, width;
  float* acc;
  int64_t acc_stride, cols;
};

struct Kernels {
  const char* isa;
  int max_nb;              // panels per tile: 1 or 2
  int gather_rows[2];      // most rows of a gather tile, for nb = 1 and 2
  int weight_rows[2];      // most rows of a weight tile, for nb = 1 and 2
  void (*gather)(const GatherTile& t, int rows, int nb);
  void (*weight)(const WeightTile& t, int rows, int nb);
};

// The kernels of a GEMM micro-kernel name ("avx512", "avx2", "portable").
const Kernels& kernels_for(const char* isa);

}  // namespace direct
}  // namespace cpu
}  // namespace retort
