// The strong view of two-view recipes (METHODS.md section 3.1): the
// RandAugment variant of the CSKD/MLKD code (two operations drawn with
// replacement from fourteen, each at a magnitude drawn uniformly in its
// range) and Cutout. The operations themselves are in data/pil_ops.h.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "data/transforms.h"

namespace retort {
namespace data {

// The fourteen operations, in the order of METHODS.md's table (the index
// a uniform draw in [0, 14) selects).
enum class AugmentOp : int {
  AutoContrast, Brightness, Color, Contrast, Equalize, Identity, Posterize,
  Rotate, Sharpness, ShearX, ShearY, Solarize, TranslateX, TranslateY
};
constexpr int kNumAugmentOps = 14;
const char* augment_op_name(AugmentOp op);
// The magnitude range [lo, hi] of an operation (0, 0 for those without one).
std::array<float, 2> augment_op_range(AugmentOp op);
// Applies one operation at magnitude v: translations move by v * width (or
// height) pixels; posterize keeps max(1, int(v)) bits.
void apply_augment_op(AugmentOp op, float v, const Image& src, Image& dst);

// Per draw: op = below(14), then v = lo + (hi - lo) * uniform() (drawn for
// every op, so each draw takes two numbers), then apply. `num_ops` draws.
class RandAugment : public ImageOp {
 public:
  explicit RandAugment(int num_ops = 2);
  ImageShape output_shape(const ImageShape& in) const override { return in; }
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  int num_ops_;
};

// Cutout of the reference: f = uniform in [0, max_fraction); when f > 0, a
// square of side s = f * W: x0 = W - (W - 1) * u, y0 = H - (H - 1) * u'
// (uniform in (1, W], the reference's reversed bounds), x1 = int(max(0,
// x0 - s/2)), y1 likewise, x2 = int(min(W, x1 + s)), y2 = int(min(H, y1 + s));
// columns x1..x2 and rows y1..y2, inclusive and clipped to the image, are
// filled with `fill` (RGB 125, 123, 114 by default; its grey level for one
// channel). Draws f, x0, y0 always, in that order.
class Cutout : public ImageOp {
 public:
  explicit Cutout(float max_fraction = 0.5f, std::array<uint8_t, 3> fill = {125, 123, 114});
  ImageShape output_shape(const ImageShape& in) const override { return in; }
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

  // The filled rectangle for an image of width x height and draws f, u, u'
  // (x1, y1, x2, y2 inclusive; x2 < x1 when nothing is filled).
  struct Rect {
    int x1, y1, x2, y2;
  };
  static Rect rectangle(int width, int height, float f, float u, float u2);

 private:
  float max_fraction_;
  std::array<uint8_t, 3> fill_;
};

}  // namespace data
}  // namespace retort
