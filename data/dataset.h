// Dataset: an indexed collection of (uint8 HWC image, i64 label) with its
// class names and its standard normalisation constants. Readers validate
// their files when they are constructed; load() may still fail later for
// lazily decoded formats (image folders), with an Error naming the file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"

namespace retort {
namespace data {

enum class Split { Train, Test };

// "train" -> Train; "test" and "val" -> Test; anything else throws.
Split parse_split(const std::string& s);
const char* split_name(Split s);  // "train", "test"

// Per-channel constants on the [0, 1] scale: x = (v / 255 - mean) / std.
// One value applies to every channel; empty means no normalisation.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;

  bool empty() const { return mean.empty(); }
  std::string str() const;  // "mean 0.4914,0.4822,0.4465 std 0.247,0.2435,0.2616"
};

// The standard constants: "cifar10", "cifar100", "mnist", "fashion-mnist",
// "imagenet", "tiny-imagenet", "none" (empty). Throws for other names.
Normalization standard_normalization(const std::string& name);

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  // The shape of every image; height = width = 0 when images differ in size.
  virtual ImageShape image_shape() const = 0;
  virtual int64_t label(int64_t index) const = 0;
  // Writes image `index` into `out`, reusing its buffer. Safe to call from
  // several threads at once.
  virtual void load(int64_t index, Image& out) const = 0;

  const std::string& name() const { return name_; }  // e.g. "cifar10 train (DIR)"
  const std::vector<std::string>& classes() const { return classes_; }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }
  const Normalization& normalization() const { return normalization_; }

  // Throws when index is outside [0, size()).
  void check_index(int64_t index) const;

 protected:
  Dataset(std::string name, std::vector<std::string> classes, Normalization normalization);
  // For readers that learn their classes while scanning (image folders).
  void set_classes(std::vector<std::string> classes) { classes_ = std::move(classes); }

 private:
  std::string name_;
  std::vector<std::string> classes_;
  Normalization normalization_;
};

// A data set held in memory as one u8 array [N, H, W, C] (CIFAR, IDX).
class ArrayDataset : public Dataset {
 public:
  // Checks sizes and that every label lies in [0, classes.size()); `source`
  // names the file a bad label came from.
  ArrayDataset(std::string name, std::vector<std::string> classes, Normalization normalization, ImageShape shape,
               std::vector<uint8_t> pixels, std::vector<int64_t> labels, const std::string& source);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  ImageShape image_shape() const override { return shape_; }
  int64_t label(int64_t index) const override;
  void load(int64_t index, Image& out) const override;
  const uint8_t* pixels(int64_t index) const;  // no copy

 private:
  ImageShape shape_;
  std::vector<uint8_t> pixels_;
  std::vector<int64_t> labels_;
};

// Throws "label L of record R in FILE is outside [0, classes)" when out of range.
void check_label(int64_t label, int64_t classes, int64_t record, const std::string& file);

}  // namespace data
}  // namespace retort
