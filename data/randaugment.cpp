#include "data/randaugment.h"

#include <algorithm>
#include <sstream>

#include "data/pil_ops.h"
#include "tensor/error.h"

namespace retort {
namespace data {

const char* augment_op_name(AugmentOp op) {
  static const char* names[kNumAugmentOps] = {"auto_contrast", "brightness", "color",      "contrast", "equalize",
                                              "identity",      "posterize",  "rotate",     "sharpness", "shear_x",
                                              "shear_y",       "solarize",   "translate_x", "translate_y"};
  return names[static_cast<int>(op)];
}

std::array<float, 2> augment_op_range(AugmentOp op) {
  switch (op) {
    case AugmentOp::Brightness:
    case AugmentOp::Color:
    case AugmentOp::Contrast:
    case AugmentOp::Sharpness: return {0.05f, 0.95f};
    case AugmentOp::Posterize: return {4.0f, 8.0f};
    case AugmentOp::Rotate: return {-30.0f, 30.0f};
    case AugmentOp::ShearX:
    case AugmentOp::ShearY:
    case AugmentOp::TranslateX:
    case AugmentOp::TranslateY: return {-0.3f, 0.3f};
    case AugmentOp::Solarize: return {0.0f, 256.0f};
    default: return {0.0f, 0.0f};
  }
}

void apply_augment_op(AugmentOp op, float v, const Image& src, Image& dst) {
  switch (op) {
    case AugmentOp::AutoContrast: return pil::auto_contrast(src, dst);
    case AugmentOp::Brightness: return pil::brightness(src, v, dst);
    case AugmentOp::Color: return pil::color(src, v, dst);
    case AugmentOp::Contrast: return pil::contrast(src, v, dst);
    case AugmentOp::Equalize: return pil::equalize(src, dst);
    case AugmentOp::Identity:
      dst.reshape(src.height, src.width, src.channels);
      std::copy(src.pixels.begin(), src.pixels.end(), dst.pixels.begin());
      return;
    case AugmentOp::Posterize: return pil::posterize(src, std::max(1, std::min(8, static_cast<int>(v))), dst);
    case AugmentOp::Rotate: return pil::rotate(src, v, dst);
    case AugmentOp::Sharpness: return pil::sharpness(src, v, dst);
    case AugmentOp::ShearX: return pil::shear_x(src, v, dst);
    case AugmentOp::ShearY: return pil::shear_y(src, v, dst);
    case AugmentOp::Solarize: return pil::solarize(src, v, dst);
    case AugmentOp::TranslateX: return pil::translate_x(src, v * static_cast<float>(src.width), dst);
    case AugmentOp::TranslateY: return pil::translate_y(src, v * static_cast<float>(src.height), dst);
  }
  RETORT_FAIL("randaugment: unknown operation " << static_cast<int>(op));
}

RandAugment::RandAugment(int num_ops) : num_ops_(num_ops) {
  RETORT_CHECK(num_ops >= 1, "randaugment: expected at least one operation, found " << num_ops);
}

void RandAugment::apply(const Image& src, Image& dst, SampleRng& rng) const {
  // Ping-pong between dst and a per-thread buffer so the result lands in dst.
  thread_local Image tmp;
  const Image* cur = &src;
  for (int k = 0; k < num_ops_; ++k) {
    const AugmentOp op = static_cast<AugmentOp>(rng.below(kNumAugmentOps));
    const std::array<float, 2> r = augment_op_range(op);
    const float v = rng.uniform(r[0], r[1]);
    Image* out = ((num_ops_ - k) % 2 == 1) ? &dst : &tmp;
    apply_augment_op(op, v, *cur, *out);
    cur = out;
  }
}

std::string RandAugment::describe() const {
  std::ostringstream os;
  os << "randaugment(" << num_ops_ << " of " << kNumAugmentOps << " ops, uniform magnitude)";
  return os.str();
}

Cutout::Cutout(float max_fraction, std::array<uint8_t, 3> fill) : max_fraction_(max_fraction), fill_(fill) {
  RETORT_CHECK(max_fraction >= 0.0f && max_fraction <= 1.0f,
               "cutout: expected a maximum fraction in [0, 1], found " << max_fraction);
}

Cutout::Rect Cutout::rectangle(int width, int height, float f, float u, float u2) {
  if (f <= 0.0f) return Rect{0, 0, -1, -1};
  const double s = static_cast<double>(f) * width;
  const double x0 = width - (width - 1) * static_cast<double>(u);
  const double y0 = height - (height - 1) * static_cast<double>(u2);
  const int x1 = static_cast<int>(std::max(0.0, x0 - s / 2.0));
  const int y1 = static_cast<int>(std::max(0.0, y0 - s / 2.0));
  const int x2 = static_cast<int>(std::min(static_cast<double>(width), x1 + s));
  const int y2 = static_cast<int>(std::min(static_cast<double>(height), y1 + s));
  return Rect{x1, y1, std::min(x2, width - 1), std::min(y2, height - 1)};
}

void Cutout::apply(const Image& src, Image& dst, SampleRng& rng) const {
  const float f = rng.uniform() * max_fraction_;
  const float u = rng.uniform(), u2 = rng.uniform();
  dst.reshape(src.height, src.width, src.channels);
  std::copy(src.pixels.begin(), src.pixels.end(), dst.pixels.begin());
  const Rect r = rectangle(src.width, src.height, f, u, u2);
  const uint8_t grey_fill = pil::grey(fill_[0], fill_[1], fill_[2]);
  const uint8_t* color = src.channels == 1 ? &grey_fill : fill_.data();
  RETORT_CHECK(src.channels == 1 || src.channels == 3, "cutout: expected 1 or 3 channels, found " << src.channels);
  pil::fill_rect(dst, r.x1, r.y1, r.x2, r.y2, color);
}

std::string Cutout::describe() const {
  std::ostringstream os;
  os << "cutout(side < " << max_fraction_ << " x width, fill " << int(fill_[0]) << "," << int(fill_[1]) << ","
     << int(fill_[2]) << ")";
  return os.str();
}

}  // namespace data
}  // namespace retort
