#include "data/dataset.h"

#include <cstring>
#include <sstream>

#include "tensor/error.h"

namespace retort {
namespace data {

Split parse_split(const std::string& s) {
  if (s == "train") return Split::Train;
  if (s == "test" || s == "val") return Split::Test;
  RETORT_FAIL("split: expected train, test or val, found '" << s << "'");
}

const char* split_name(Split s) { return s == Split::Train ? "train" : "test"; }

std::string Normalization::str() const {
  if (empty()) return "none";
  std::ostringstream os;
  os << "mean ";
  for (size_t i = 0; i < mean.size(); ++i) os << (i ? "," : "") << mean[i];
  os << " std ";
  for (size_t i = 0; i < std.size(); ++i) os << (i ? "," : "") << std[i];
  return os.str();
}

Normalization standard_normalization(const std::string& name) {
  if (name == "cifar10") return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
  if (name == "cifar100") return {{0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}};
  if (name == "mnist") return {{0.1307f}, {0.3081f}};
  if (name == "fashion-mnist") return {{0.2860f}, {0.3530f}};
  if (name == "imagenet") return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  if (name == "tiny-imagenet") return {{0.4802f, 0.4481f, 0.3975f}, {0.2302f, 0.2265f, 0.2262f}};
  if (name == "none") return {};
  RETORT_FAIL("normalisation: expected cifar10, cifar100, mnist, fashion-mnist, imagenet, tiny-imagenet or none, found '"
              << name << "'");
}

Dataset::Dataset(std::string name, std::vector<std::string> classes, Normalization normalization)
    : name_(std::move(name)), classes_(std::move(classes)), normalization_(std::move(normalization)) {
  RETORT_CHECK(normalization_.mean.size() == normalization_.std.size(),
               name_ << ": normalisation has " << normalization_.mean.size() << " means but "
                     << normalization_.std.size() << " standard deviations");
  for (float s : normalization_.std) RETORT_CHECK(s > 0.0f, name_ << ": normalisation std must be > 0, found " << s);
}

void Dataset::check_index(int64_t index) const {
  RETORT_CHECK(index >= 0 && index < size(), name_ << ": index " << index << " is outside [0, " << size() << ")");
}

void check_label(int64_t label, int64_t classes, int64_t record, const std::string& file) {
  RETORT_CHECK(label >= 0 && label < classes, file << ": label " << label << " of record " << record
                                                   << " is outside [0, " << classes << ")");
}

ArrayDataset::ArrayDataset(std::string name, std::vector<std::string> classes, Normalization normalization,
                           ImageShape shape, std::vector<uint8_t> pixels, std::vector<int64_t> labels,
                           const std::string& source)
    : Dataset(std::move(name), std::move(classes), std::move(normalization)),
      shape_(shape),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)) {
  RETORT_CHECK(shape_.fixed() && shape_.channels > 0, this->name() << ": expected a fixed image shape, found "
                                                                   << shape_.str());
  RETORT_CHECK(static_cast<int64_t>(pixels_.size()) == shape_.numel() * size(),
               this->name() << ": expected " << shape_.numel() * size() << " pixel bytes for " << size()
                            << " images of " << shape_.str() << ", found " << pixels_.size());
  for (size_t i = 0; i < labels_.size(); ++i)
    check_label(labels_[i], num_classes(), static_cast<int64_t>(i), source);
}

int64_t ArrayDataset::label(int64_t index) const {
  check_index(index);
  return labels_[static_cast<size_t>(index)];
}

const uint8_t* ArrayDataset::pixels(int64_t index) const {
  check_index(index);
  return pixels_.data() + static_cast<size_t>(index) * static_cast<size_t>(shape_.numel());
}

void ArrayDataset::load(int64_t index, Image& out) const {
  const uint8_t* p = pixels(index);
  out.reshape(shape_.height, shape_.width, shape_.channels);
  std::memcpy(out.data(), p, static_cast<size_t>(shape_.numel()));
}

}  // namespace data
}  // namespace retort
