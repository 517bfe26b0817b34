// Image folders: DIR/<class>/<file>, one folder per class, classes sorted by
// name (torchvision's ImageFolder), files sorted by name within a class and
// found in nested folders too. The layout of the CIFAR-10 JPEG set and of
// ImageNet / Tiny-ImageNet trees (ROOT/train/<class>/[images/]..., ROOT/val/
// <class>/...). Tiny-ImageNet's own val/ (images/ plus val_annotations.txt)
// is read as it is, with the classes of the train split.
//
// Files are PNG/JPEG/BMP/PNM/TGA/GIF, decoded through stb_image on first use
// (grayscale promoted to RGB, alpha dropped), optionally resized to a fixed
// size, and kept decoded in memory while they fit the cache budget, so every
// epoch after the first decodes nothing. Files of other extensions and names
// starting with '.' are skipped; an empty class folder or a 0-byte image is
// an error at construction, an undecodable one when it is loaded.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace retort {
namespace data {

struct ImageFolderOptions {
  int channels = 3;               // 3 (RGB) or 1 (grey)
  int height = 0, width = 0;      // resize every image to height x width when > 0
  int64_t cache_bytes = int64_t{1} << 30;  // budget for decoded images (0: no cache)
  // The class list, when it comes from elsewhere (the test split takes the
  // train split's, so labels agree even if a class has no test folder);
  // every class folder must be in it. Empty: the folders found, sorted.
  std::vector<std::string> classes;
};

// The class folder names of `dir`, sorted (hidden folders skipped).
std::vector<std::string> image_folder_classes(const std::string& dir);

// The folder of `split` under `root`: ROOT/train, or ROOT/test, else ROOT/val.
// Throws naming the paths tried.
std::string image_folder_split_dir(const std::string& root, Split split, const std::string& kind);

class ImageFolder : public Dataset {
 public:
  // `dir` holds the class folders.
  ImageFolder(const std::string& dir, std::string name, Normalization normalization,
              const ImageFolderOptions& options = ImageFolderOptions());
  ~ImageFolder() override;

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  ImageShape image_shape() const override;
  int64_t label(int64_t index) const override;
  void load(int64_t index, Image& out) const override;

  const std::string& path(int64_t index) const;
  int64_t cached_bytes() const { return cached_bytes_.load(); }
  int64_t cached_images() const { return cached_images_.load(); }

 private:
  struct Slot;
  ImageFolderOptions options_;
  std::string dir_;
  std::vector<std::string> files_;  // paths
  std::vector<int64_t> labels_;
  std::unique_ptr<Slot[]> cache_;
  mutable std::atomic<int64_t> cached_bytes_{0};
  mutable std::atomic<int64_t> cached_images_{0};
};

// The file extensions an image folder reads, lower case with the dot.
const std::vector<std::string>& image_extensions();

}  // namespace data
}  // namespace retort
