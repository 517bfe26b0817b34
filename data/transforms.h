// Per-sample image transforms with torchvision's semantics, seeded so that a
// sample's augmentation is a pure function of (seed, epoch, view, index).
//
// Random numbers. Every random decision about sample `index` in epoch `epoch`
// for view `view` (0 = the first transform of a loader, 1 = the second, ...)
// comes from one SampleRng over the Philox counters
//     key = seed, stream = (epoch << 8) | (1 + view), counters [index << 16, (index + 1) << 16)
// (sample_rng() below). Stream tag 0, (epoch << 8), is the loader's shuffle.
// So augmentation does not depend on batch size, worker count, shuffling or
// which batch a run resumed at, and no two (epoch, view, index) share numbers.
//
// A Transform is a list of ImageOps (uint8 HWC -> uint8 HWC; each draws what
// it needs from the sample's SampleRng, in order) followed by the conversion
// to f32: x = (v / 255 - mean[c]) / std[c] with the Normalization given.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"
#include "tensor/kernels/philox.h"

namespace retort {
namespace data {

// Draws uniform numbers from a window of Philox counters, four 32-bit words
// per counter, in order.
class SampleRng {
 public:
  // Counters [start.offset, start.offset + max_counters) belong to this rng.
  explicit SampleRng(const PhiloxState& start, uint64_t max_counters = UINT64_MAX);

  uint32_t next_u32();
  float uniform();  // [0, 1), 24 random bits
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  int below(int n);  // uniform in [0, n), n >= 1
  uint64_t words_used() const { return words_; }

 private:
  PhiloxState start_;
  uint64_t max_counters_;
  uint64_t words_ = 0;
  Philox4 block_{};
};

constexpr int kCountersPerSampleLog2 = 16;
constexpr int kMaxViews = 255;
// The rng of one (seed, epoch, view, index); see the header comment.
SampleRng sample_rng(uint64_t seed, int64_t epoch, int view, int64_t index);
// The Philox stream of the loader's shuffle of `epoch`.
uint64_t shuffle_stream(int64_t epoch);

// One uint8 -> uint8 step. Implementations are immutable and thread-safe.
class ImageOp {
 public:
  virtual ~ImageOp() = default;
  // The shape apply() produces from `in` (height/width 0 when unknown).
  virtual ImageShape output_shape(const ImageShape& in) const = 0;
  // Writes the result to dst (never the same object as src).
  virtual void apply(const Image& src, Image& dst, SampleRng& rng) const = 0;
  virtual std::string describe() const = 0;
};

using ImageOpPtr = std::shared_ptr<const ImageOp>;

// Reusable buffers of one thread running transforms.
struct TransformScratch {
  Image a, b;
};

class Transform {
 public:
  Transform() = default;  // identity, scale to [0, 1], no normalisation

  Transform& then(ImageOpPtr op);
  Transform& normalize(const Normalization& n);

  const std::vector<ImageOpPtr>& ops() const { return ops_; }
  const Normalization& normalization() const { return norm_; }
  ImageShape output_shape(const ImageShape& in) const;
  // "random_crop(32x32, pad 4) -> hflip(p 0.5) -> normalize(mean ..., std ...)".
  std::string describe() const;

  // Runs the ops; returns src itself when there are none, else a scratch buffer.
  const Image& apply_u8(const Image& src, SampleRng& rng, TransformScratch& scratch) const;
  // Writes the f32 HWC values of `img` to out (img.pixels.size() floats).
  void to_float(const Image& img, float* out) const;
  // apply_u8 then to_float.
  void apply(const Image& src, SampleRng& rng, TransformScratch& scratch, float* out) const {
    to_float(apply_u8(src, rng, scratch), out);
  }

 private:
  std::vector<ImageOpPtr> ops_;
  Normalization norm_;
  std::vector<float> lut_;  // per normalisation channel, the 256 values of a byte
};

// ---------------------------------------------------------------- the ops

// torchvision RandomCrop(size, padding, fill): pads each side by `padding`
// with `fill`, then crops height x width at (top, left) drawn uniformly
// (top first).
class RandomCrop : public ImageOp {
 public:
  RandomCrop(int height, int width, int padding = 0, uint8_t fill = 0);
  ImageShape output_shape(const ImageShape& in) const override;
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  int height_, width_, padding_;
  uint8_t fill_;
};

// Mirrors left-right when a uniform draw is below p.
class RandomHorizontalFlip : public ImageOp {
 public:
  explicit RandomHorizontalFlip(float p = 0.5f);
  ImageShape output_shape(const ImageShape& in) const override { return in; }
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  float p_;
};

// torchvision Resize: Resize(size) scales the shorter side to `size` keeping
// the aspect ratio (longer side truncated: int(size * long / short));
// Resize(h, w) produces exactly h x w. Bilinear, antialiased (data/resize.h).
class Resize : public ImageOp {
 public:
  explicit Resize(int shorter_side);
  Resize(int height, int width);
  ImageShape output_shape(const ImageShape& in) const override;
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  int shorter_ = 0, height_ = 0, width_ = 0;
};

// torchvision CenterCrop: top = round((H - h) / 2) (half to even), likewise
// left; an image smaller than the crop is padded with zeros.
class CenterCrop : public ImageOp {
 public:
  CenterCrop(int height, int width);
  ImageShape output_shape(const ImageShape& in) const override;
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  int height_, width_;
};

// torchvision RandomResizedCrop: up to 10 draws of (area fraction in scale,
// log-uniform aspect ratio in ratio, top, left), falling back to the centre
// crop of the clamped ratio; the crop is resized to height x width.
class RandomResizedCrop : public ImageOp {
 public:
  RandomResizedCrop(int height, int width, float scale_lo = 0.08f, float scale_hi = 1.0f,
                    float ratio_lo = 3.0f / 4.0f, float ratio_hi = 4.0f / 3.0f);
  ImageShape output_shape(const ImageShape& in) const override;
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

  struct Box {
    int top, left, height, width;
  };
  // The crop box chosen for an image of in_h x in_w.
  Box draw_box(int in_h, int in_w, SampleRng& rng) const;

 private:
  int height_, width_;
  float scale_lo_, scale_hi_, ratio_lo_, ratio_hi_;
};

// torchvision RandomRotation(degrees): angle uniform in [-degrees, degrees],
// counter-clockwise about the centre, nearest neighbour, uncovered pixels 0.
class RandomRotation : public ImageOp {
 public:
  explicit RandomRotation(float degrees);
  ImageShape output_shape(const ImageShape& in) const override { return in; }
  void apply(const Image& src, Image& dst, SampleRng& rng) const override;
  std::string describe() const override;

 private:
  float degrees_;
};

}  // namespace data
}  // namespace retort
