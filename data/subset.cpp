#include "data/subset.h"

#include <algorithm>

#include "tensor/ops.h"

namespace retort {
namespace data {

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : Dataset(base->name() + " subset of " + std::to_string(indices.size()), base->classes(), base->normalization()),
      base_(std::move(base)),
      indices_(std::move(indices)) {
  for (int64_t i : indices_) base_->check_index(i);
}

int64_t SubsetDataset::label(int64_t index) const {
  check_index(index);
  return base_->label(indices_[index]);
}

void SubsetDataset::load(int64_t index, Image& out) const {
  check_index(index);
  base_->load(indices_[index], out);
}

std::shared_ptr<const Dataset> random_subset(std::shared_ptr<const Dataset> base, int64_t n, uint64_t seed) {
  RETORT_CHECK(n >= 0, "random_subset: expected a size >= 0, found " << n);
  if (n == 0 || n >= base->size()) return base;
  Generator gen(seed, /*stream=*/0x5B5E7);  // its own stream: independent of shuffling and augmentation
  const Tensor perm = ops::randperm(base->size(), gen);
  std::vector<int64_t> idx(perm.data<int64_t>(), perm.data<int64_t>() + n);
  std::sort(idx.begin(), idx.end());
  return std::make_shared<SubsetDataset>(std::move(base), std::move(idx));
}

}  // namespace data
}  // namespace retort
