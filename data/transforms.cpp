#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "data/pil_ops.h"
#include "data/resize.h"
#include "tensor/error.h"

namespace retort {
namespace data {

// ---------------------------------------------------------------- random numbers

SampleRng::SampleRng(const PhiloxState& start, uint64_t max_counters) : start_(start), max_counters_(max_counters) {}

uint32_t SampleRng::next_u32() {
  const uint64_t counter = words_ / 4;
  const int lane = static_cast<int>(words_ % 4);
  if (lane == 0) {
    RETORT_CHECK(counter < max_counters_, "sample rng: a transform drew more than " << max_counters_ * 4
                                                                                    << " random numbers for one sample");
    block_ = philox_at(start_, counter);
  }
  ++words_;
  return block_.v[lane];
}

float SampleRng::uniform() { return philox_uniform(next_u32()); }

int SampleRng::below(int n) {
  RETORT_CHECK(n >= 1, "sample rng: below(n) needs n >= 1, found " << n);
  return static_cast<int>((static_cast<uint64_t>(next_u32()) * static_cast<uint64_t>(n)) >> 32);
}

SampleRng sample_rng(uint64_t seed, int64_t epoch, int view, int64_t index) {
  RETORT_CHECK(view >= 0 && view < kMaxViews, "sample rng: view " << view << " is outside [0, " << kMaxViews << ")");
  RETORT_CHECK(epoch >= 0 && index >= 0, "sample rng: expected epoch and index >= 0, found " << epoch << ", " << index);
  const PhiloxState s{seed, (static_cast<uint64_t>(epoch) << 8) | static_cast<uint64_t>(1 + view),
                      static_cast<uint64_t>(index) << kCountersPerSampleLog2};
  return SampleRng(s, uint64_t{1} << kCountersPerSampleLog2);
}

uint64_t shuffle_stream(int64_t epoch) { return static_cast<uint64_t>(epoch) << 8; }

// ---------------------------------------------------------------- Transform

Transform& Transform::then(ImageOpPtr op) {
  RETORT_CHECK(op != nullptr, "transform: expected an op, found null");
  ops_.push_back(std::move(op));
  return *this;
}

Transform& Transform::normalize(const Normalization& n) {
  RETORT_CHECK(n.mean.size() == n.std.size(), "normalize: " << n.mean.size() << " means but " << n.std.size()
                                                            << " standard deviations");
  for (float s : n.std) RETORT_CHECK(s > 0.0f, "normalize: std must be > 0, found " << s);
  norm_ = n;
  // One table per channel: the division happens 256 times, not once per pixel.
  lut_.resize(n.mean.size() * 256);
  for (size_t c = 0; c < n.mean.size(); ++c)
    for (int v = 0; v < 256; ++v) lut_[c * 256 + v] = (static_cast<float>(v) / 255.0f - n.mean[c]) / n.std[c];
  return *this;
}

ImageShape Transform::output_shape(const ImageShape& in) const {
  ImageShape s = in;
  for (const ImageOpPtr& op : ops_) s = op->output_shape(s);
  return s;
}

std::string Transform::describe() const {
  std::ostringstream os;
  for (const ImageOpPtr& op : ops_) os << op->describe() << " -> ";
  if (norm_.empty()) os << "to_float([0, 1])";
  else os << "normalize(" << norm_.str() << ")";
  return os.str();
}

const Image& Transform::apply_u8(const Image& src, SampleRng& rng, TransformScratch& scratch) const {
  const Image* cur = &src;
  for (const ImageOpPtr& op : ops_) {
    Image* next = cur == &scratch.a ? &scratch.b : &scratch.a;
    op->apply(*cur, *next, rng);
    cur = next;
  }
  return *cur;
}

void Transform::to_float(const Image& img, float* out) const {
  const size_t n = img.pixels.size();
  const uint8_t* p = img.data();
  const size_t nc = norm_.mean.size();
  if (nc == 0) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]) / 255.0f;
    return;
  }
  if (nc == 1) {
    const float* lut = lut_.data();
    for (size_t i = 0; i < n; ++i) out[i] = lut[p[i]];
    return;
  }
  RETORT_CHECK(static_cast<size_t>(img.channels) == nc, "normalize: constants for " << nc
                                                                                      << " channels, found an image of "
                                                                                      << img.channels << " channels");
  if (nc == 3) {
    const float *l0 = lut_.data(), *l1 = l0 + 256, *l2 = l0 + 512;
    for (size_t i = 0; i < n; i += 3) {
      out[i] = l0[p[i]];
      out[i + 1] = l1[p[i + 1]];
      out[i + 2] = l2[p[i + 2]];
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) out[i] = lut_[(i % nc) * 256 + p[i]];
}

// ---------------------------------------------------------------- RandomCrop

RandomCrop::RandomCrop(int height, int width, int padding, uint8_t fill)
    : height_(height), width_(width), padding_(padding), fill_(fill) {
  RETORT_CHECK(height > 0 && width > 0 && padding >= 0,
               "random_crop: expected a positive size and padding >= 0, found " << height << "x" << width << " pad "
                                                                                << padding);
}

ImageShape RandomCrop::output_shape(const ImageShape& in) const { return ImageShape{height_, width_, in.channels}; }

void RandomCrop::apply(const Image& src, Image& dst, SampleRng& rng) const {
  const int ph = src.height + 2 * padding_, pw = src.width + 2 * padding_;
  RETORT_CHECK(height_ <= ph && width_ <= pw, "random_crop: crop " << height_ << "x" << width_ << " is larger than the "
                                                                   << src.height << "x" << src.width
                                                                   << " image padded by " << padding_);
  const int top = rng.below(ph - height_ + 1) - padding_;
  const int left = rng.below(pw - width_ + 1) - padding_;
  const int C = src.channels;
  dst.reshape(height_, width_, C);
  for (int y = 0; y < height_; ++y) {
    const int sy = y + top;
    uint8_t* out = dst.data() + static_cast<size_t>(y) * width_ * C;
    if (sy < 0 || sy >= src.height) {
      std::fill(out, out + width_ * C, fill_);
      continue;
    }
    // Columns [x0, x1) of the output read the source; the rest is fill.
    const int x0 = std::min(width_, std::max(0, -left)), x1 = std::min(width_, src.width - left);
    std::fill(out, out + x0 * C, fill_);
    if (x1 > x0) std::copy_n(src.px(sy, x0 + left), (x1 - x0) * C, out + x0 * C);
    std::fill(out + std::max(x0, x1) * C, out + width_ * C, fill_);
  }
}

std::string RandomCrop::describe() const {
  std::ostringstream os;
  os << "random_crop(" << height_ << "x" << width_ << ", pad " << padding_ << ")";
  return os.str();
}

// ---------------------------------------------------------------- RandomHorizontalFlip

RandomHorizontalFlip::RandomHorizontalFlip(float p) : p_(p) {
  RETORT_CHECK(p >= 0.0f && p <= 1.0f, "hflip: expected p in [0, 1], found " << p);
}

void RandomHorizontalFlip::apply(const Image& src, Image& dst, SampleRng& rng) const {
  const bool flip = rng.uniform() < p_;
  const int H = src.height, W = src.width, C = src.channels;
  dst.reshape(H, W, C);
  if (!flip) {
    std::copy(src.pixels.begin(), src.pixels.end(), dst.pixels.begin());
    return;
  }
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) std::copy_n(src.px(y, W - 1 - x), C, dst.px(y, x));
}

std::string RandomHorizontalFlip::describe() const {
  std::ostringstream os;
  os << "hflip(p " << p_ << ")";
  return os.str();
}

// ---------------------------------------------------------------- Resize

Resize::Resize(int shorter_side) : shorter_(shorter_side) {
  RETORT_CHECK(shorter_side > 0, "resize: expected a positive size, found " << shorter_side);
}

Resize::Resize(int height, int width) : height_(height), width_(width) {
  RETORT_CHECK(height > 0 && width > 0, "resize: expected a positive size, found " << height << "x" << width);
}

ImageShape Resize::output_shape(const ImageShape& in) const {
  if (shorter_ == 0) return ImageShape{height_, width_, in.channels};
  if (!in.fixed()) return ImageShape{0, 0, in.channels};
  if (in.width <= in.height)
    return ImageShape{static_cast<int>(static_cast<int64_t>(shorter_) * in.height / in.width), shorter_, in.channels};
  return ImageShape{shorter_, static_cast<int>(static_cast<int64_t>(shorter_) * in.width / in.height), in.channels};
}

void Resize::apply(const Image& src, Image& dst, SampleRng&) const {
  const ImageShape s = output_shape(src.shape());
  resize_bilinear(src, s.height, s.width, dst);
}

std::string Resize::describe() const {
  std::ostringstream os;
  if (shorter_ > 0) os << "resize(shorter side " << shorter_ << ")";
  else os << "resize(" << height_ << "x" << width_ << ")";
  return os.str();
}

// ---------------------------------------------------------------- CenterCrop

CenterCrop::CenterCrop(int height, int width) : height_(height), width_(width) {
  RETORT_CHECK(height > 0 && width > 0, "center_crop: expected a positive size, found " << height << "x" << width);
}

ImageShape CenterCrop::output_shape(const ImageShape& in) const { return ImageShape{height_, width_, in.channels}; }

void CenterCrop::apply(const Image& src, Image& dst, SampleRng&) const {
  // torchvision pads a small image by (crop - size) // 2 before, then takes top 0.
  const auto offset = [](int size, int crop) {
    if (crop > size) return -((crop - size) / 2);
    return static_cast<int>(std::nearbyint((size - crop) / 2.0));
  };
  const int top = offset(src.height, height_), left = offset(src.width, width_);
  dst.reshape(height_, width_, src.channels);
  const size_t C = static_cast<size_t>(src.channels);  // unsigned: no negative length for the optimiser to warn about
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x) {
      const int sy = y + top, sx = x + left;
      uint8_t* out = dst.px(y, x);
      if (sy < 0 || sx < 0 || sy >= src.height || sx >= src.width) std::fill(out, out + C, uint8_t{0});
      else std::copy_n(src.px(sy, sx), C, out);
    }
  }
}

std::string CenterCrop::describe() const {
  std::ostringstream os;
  os << "center_crop(" << height_ << "x" << width_ << ")";
  return os.str();
}

// ---------------------------------------------------------------- RandomResizedCrop

RandomResizedCrop::RandomResizedCrop(int height, int width, float scale_lo, float scale_hi, float ratio_lo,
                                     float ratio_hi)
    : height_(height), width_(width), scale_lo_(scale_lo), scale_hi_(scale_hi), ratio_lo_(ratio_lo), ratio_hi_(ratio_hi) {
  RETORT_CHECK(height > 0 && width > 0, "random_resized_crop: expected a positive size, found " << height << "x" << width);
  RETORT_CHECK(scale_lo > 0.0f && scale_lo <= scale_hi && ratio_lo > 0.0f && ratio_lo <= ratio_hi,
               "random_resized_crop: expected 0 < scale_lo <= scale_hi and 0 < ratio_lo <= ratio_hi, found scale ["
                   << scale_lo << ", " << scale_hi << "] ratio [" << ratio_lo << ", " << ratio_hi << "]");
}

ImageShape RandomResizedCrop::output_shape(const ImageShape& in) const {
  return ImageShape{height_, width_, in.channels};
}

RandomResizedCrop::Box RandomResizedCrop::draw_box(int in_h, int in_w, SampleRng& rng) const {
  const double area = static_cast<double>(in_h) * in_w;
  const double log_lo = std::log(static_cast<double>(ratio_lo_)), log_hi = std::log(static_cast<double>(ratio_hi_));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale_lo_, scale_hi_);
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * rng.uniform());
    // Python's round(): half to even, which nearbyint gives in the default rounding mode.
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target / aspect)));
    if (w > 0 && w <= in_w && h > 0 && h <= in_h) {
      const int top = rng.below(in_h - h + 1);
      const int left = rng.below(in_w - w + 1);
      return Box{top, left, h, w};
    }
  }
  // Fallback: the centre crop of the clamped aspect ratio.
  const double in_ratio = static_cast<double>(in_w) / in_h;
  int w = in_w, h = in_h;
  if (in_ratio < ratio_lo_) h = static_cast<int>(std::nearbyint(w / static_cast<double>(ratio_lo_)));
  else if (in_ratio > ratio_hi_) w = static_cast<int>(std::nearbyint(h * static_cast<double>(ratio_hi_)));
  h = std::max(1, std::min(h, in_h));
  w = std::max(1, std::min(w, in_w));
  return Box{(in_h - h) / 2, (in_w - w) / 2, h, w};
}

void RandomResizedCrop::apply(const Image& src, Image& dst, SampleRng& rng) const {
  const Box b = draw_box(src.height, src.width, rng);
  resize_region(src, b.top, b.left, b.height, b.width, height_, width_, dst);
}

std::string RandomResizedCrop::describe() const {
  std::ostringstream os;
  os << "random_resized_crop(" << height_ << "x" << width_ << ", scale [" << scale_lo_ << ", " << scale_hi_
     << "], ratio [" << ratio_lo_ << ", " << ratio_hi_ << "])";
  return os.str();
}

// ---------------------------------------------------------------- RandomRotation

RandomRotation::RandomRotation(float degrees) : degrees_(degrees) {
  RETORT_CHECK(degrees >= 0.0f, "random_rotation: expected degrees >= 0, found " << degrees);
}

void RandomRotation::apply(const Image& src, Image& dst, SampleRng& rng) const {
  pil::rotate(src, rng.uniform(-degrees_, degrees_), dst);
}

std::string RandomRotation::describe() const {
  std::ostringstream os;
  os << "random_rotation(+-" << degrees_ << " deg)";
  return os.str();
}

}  // namespace data
}  // namespace retort
