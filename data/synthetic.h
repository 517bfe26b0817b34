// Synthetic images for tests and smoke runs: any size, channel count, class
// count and length, generated on demand (no memory), a pure function of
// (seed, split, index). Sample i has label i % classes. Its image is a
// sinusoidal grating whose orientation and frequency depend on the class and
// whose colour phase depends on class and channel, at a random phase per
// sample, plus uniform noise: easy enough for a small network to learn, not
// solvable from one pixel.
#pragma once
#include <cstdint>

#include "data/dataset.h"

namespace retort {
namespace data {

struct SyntheticOptions {
  int64_t classes = 10;
  int size = 32;  // height = width
  int channels = 3;
  int64_t n = 512;  // samples in each split
  uint64_t seed = 0;
};

class SyntheticDataset : public Dataset {
 public:
  SyntheticDataset(const SyntheticOptions& options, Split split);

  int64_t size() const override { return options_.n; }
  ImageShape image_shape() const override { return ImageShape{options_.size, options_.size, options_.channels}; }
  int64_t label(int64_t index) const override;
  void load(int64_t index, Image& out) const override;

 private:
  SyntheticOptions options_;
  Split split_;
};

}  // namespace data
}  // namespace retort
