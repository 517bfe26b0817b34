// Statistics of one split, for `retort data`: counts per class, the range of
// image sizes, and the per-channel mean and standard deviation of the pixel
// values on the [0, 1] scale (over every pixel of every image, the numbers
// normalisation constants are made of).
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace retort {
namespace data {

struct SplitStats {
  int64_t samples = 0;
  std::vector<int64_t> class_counts;
  int min_height = 0, max_height = 0, min_width = 0, max_width = 0, channels = 0;
  std::vector<double> mean, std;
};

// Reads every image once, on `threads` threads (0: one per core). Sums are
// exact integers, so the result does not depend on the thread count.
SplitStats compute_stats(const Dataset& dataset, int threads = 0);

}  // namespace data
}  // namespace retort
