// A view of some samples of another data set, e.g. a seeded random subset for
// short runs (the demo) and quick checks.
#pragma once
#include <memory>
#include <vector>

#include "data/dataset.h"

namespace retort {
namespace data {

class SubsetDataset : public Dataset {
 public:
  // `indices` must lie in [0, base->size()).
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  ImageShape image_shape() const override { return base_->image_shape(); }
  int64_t label(int64_t index) const override;
  void load(int64_t index, Image& out) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// n samples drawn without replacement by a Philox permutation of `seed`, kept
// in ascending index order; the data set itself when n is 0 or >= its size.
std::shared_ptr<const Dataset> random_subset(std::shared_ptr<const Dataset> base, int64_t n, uint64_t seed);

}  // namespace data
}  // namespace retort
