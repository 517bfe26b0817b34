#include "data/cifar.h"

#include <sstream>

#include "data/paths.h"
#include "tensor/error.h"
#include "tensor/file_io.h"

namespace retort {
namespace data {

namespace {

constexpr int kSide = 32;
constexpr int kPlane = kSide * kSide;
constexpr int kPixelBytes = 3 * kPlane;

// Class names from a *.txt meta file of the tarball (one per line), or the
// built-in list when the file is absent or does not hold `expected` names.
std::vector<std::string> names_from(const std::string& path, const std::vector<std::string>& fallback) {
  if (!is_file(path)) return fallback;
  std::istringstream in(read_file(path));
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names.size() == fallback.size() ? names : fallback;
}

}  // namespace

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names{"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

const std::vector<std::string>& cifar100_fine_classes() {
  static const std::vector<std::string> names{
      "apple",       "aquarium_fish", "baby",         "bear",       "beaver",      "bed",        "bee",
      "beetle",      "bicycle",       "bottle",       "bowl",       "boy",         "bridge",     "bus",
      "butterfly",   "camel",         "can",          "castle",     "caterpillar", "cattle",     "chair",
      "chimpanzee",  "clock",         "cloud",        "cockroach",  "couch",       "crab",       "crocodile",
      "cup",         "dinosaur",      "dolphin",      "elephant",   "flatfish",    "forest",     "fox",
      "girl",        "hamster",       "house",        "kangaroo",   "keyboard",    "lamp",       "lawn_mower",
      "leopard",     "lion",          "lizard",       "lobster",    "man",         "maple_tree", "motorcycle",
      "mountain",    "mouse",         "mushroom",     "oak_tree",   "orange",      "orchid",     "otter",
      "palm_tree",   "pear",          "pickup_truck", "pine_tree",  "plain",       "plate",      "poppy",
      "porcupine",   "possum",        "rabbit",       "raccoon",    "ray",         "road",       "rocket",
      "rose",        "sea",           "seal",         "shark",      "shrew",       "skunk",      "skyscraper",
      "snail",       "snake",         "spider",       "squirrel",   "streetcar",   "sunflower",  "sweet_pepper",
      "table",       "tank",          "telephone",    "television", "tiger",       "tractor",    "train",
      "trout",       "tulip",         "turtle",       "wardrobe",   "whale",       "willow_tree", "wolf",
      "woman",       "worm"};
  return names;
}

const std::vector<std::string>& cifar100_coarse_classes() {
  static const std::vector<std::string> names{"aquatic_mammals",
                                              "fish",
                                              "flowers",
                                              "food_containers",
                                              "fruit_and_vegetables",
                                              "household_electrical_devices",
                                              "household_furniture",
                                              "insects",
                                              "large_carnivores",
                                              "large_man-made_outdoor_things",
                                              "large_natural_outdoor_scenes",
                                              "large_omnivores_and_herbivores",
                                              "medium_mammals",
                                              "non-insect_invertebrates",
                                              "people",
                                              "reptiles",
                                              "small_mammals",
                                              "trees",
                                              "vehicles_1",
                                              "vehicles_2"};
  return names;
}

std::string find_cifar_binary_dir(const std::string& dir, bool cifar100) {
  const char* probe = cifar100 ? "/train.bin" : "/data_batch_1.bin";
  const char* sub = cifar100 ? "/cifar-100-binary" : "/cifar-10-batches-bin";
  if (is_file(dir + probe)) return dir;
  if (is_file(dir + sub + probe)) return dir + sub;
  return "";
}

void read_cifar_file(const std::string& path, int label_bytes, int label_byte, int64_t classes,
                     std::vector<uint8_t>& pixels, std::vector<int64_t>& labels) {
  RETORT_CHECK(is_file(path), "missing CIFAR file " << path);
  read_cifar_records(read_file(path), path, label_bytes, label_byte, classes, pixels, labels);
}

void read_cifar_records(const std::string& bytes, const std::string& path, int label_bytes, int label_byte,
                        int64_t classes, std::vector<uint8_t>& pixels, std::vector<int64_t>& labels) {
  const size_t record = static_cast<size_t>(label_bytes + kPixelBytes);
  RETORT_CHECK(!bytes.empty(), path << ": empty file, expected " << record << "-byte records");
  RETORT_CHECK(bytes.size() % record == 0,
               path << ": " << bytes.size() << " bytes is not a whole number of " << record << "-byte records ("
                    << bytes.size() / record << " records and " << bytes.size() % record
                    << " bytes left over): the file is truncated or not a CIFAR binary file");
  const size_t n = bytes.size() / record;
  const size_t first_pixel = pixels.size(), first_label = labels.size();
  pixels.resize(first_pixel + n * kPixelBytes);
  labels.resize(first_label + n);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t r = 0; r < n; ++r, src += record) {
    const int64_t label = src[label_byte];
    check_label(label, classes, static_cast<int64_t>(r), path);
    labels[first_label + r] = label;
    // Planar R, G, B -> interleaved RGB.
    const uint8_t* planes = src + label_bytes;
    uint8_t* dst = pixels.data() + first_pixel + r * kPixelBytes;
    for (int i = 0; i < kPlane; ++i) {
      dst[3 * i] = planes[i];
      dst[3 * i + 1] = planes[kPlane + i];
      dst[3 * i + 2] = planes[2 * kPlane + i];
    }
  }
}

std::shared_ptr<ArrayDataset> load_cifar10(const std::string& dir, Split split) {
  require_directory(dir, "cifar10");
  const std::string root = find_cifar_binary_dir(dir, false);
  if (root.empty()) {
    RETORT_CHECK(!is_file(dir + "/data_batch_1") && !is_file(dir + "/cifar-10-batches-py/data_batch_1"),
                 "cifar10: " << dir << " holds the Python (pickle) version of CIFAR-10; retort reads the binary "
                             << "version (cifar-10-binary.tar.gz: data_batch_1..5.bin, test_batch.bin) or a folder "
                             << "of images (DIR/train/<class>/*.png)");
    RETORT_FAIL("cifar10: " << dir << " holds neither data_batch_1.bin (the binary version) nor "
                            << "cifar-10-batches-bin/, nor train/<class>/ image folders");
  }
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) files.push_back(root + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(root + "/test_batch.bin");
  }
  const std::vector<std::string> classes = names_from(root + "/batches.meta.txt", cifar10_classes());
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const std::string& f : files) read_cifar_file(f, 1, 0, 10, pixels, labels);
  return std::make_shared<ArrayDataset>(std::string("cifar10 ") + split_name(split) + " (" + root + ")", classes,
                                        standard_normalization("cifar10"), ImageShape{kSide, kSide, 3},
                                        std::move(pixels), std::move(labels), root);
}

std::shared_ptr<ArrayDataset> load_cifar100(const std::string& dir, Split split, bool coarse) {
  require_directory(dir, "cifar100");
  const std::string root = find_cifar_binary_dir(dir, true);
  if (root.empty()) {
    RETORT_CHECK(!is_file(dir + "/train") && !is_file(dir + "/cifar-100-python/train"),
                 "cifar100: " << dir << " holds the Python (pickle) version of CIFAR-100; retort reads the binary "
                              << "version (cifar-100-binary.tar.gz: train.bin, test.bin) or a folder of images");
    RETORT_FAIL("cifar100: " << dir << " holds neither train.bin (the binary version) nor cifar-100-binary/, "
                             << "nor train/<class>/ image folders");
  }
  const std::string file = root + (split == Split::Train ? "/train.bin" : "/test.bin");
  const std::vector<std::string> classes =
      coarse ? names_from(root + "/coarse_label_names.txt", cifar100_coarse_classes())
             : names_from(root + "/fine_label_names.txt", cifar100_fine_classes());
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  read_cifar_file(file, 2, coarse ? 0 : 1, coarse ? 20 : 100, pixels, labels);
  return std::make_shared<ArrayDataset>(std::string("cifar100") + (coarse ? " coarse " : " ") + split_name(split) +
                                            " (" + root + ")",
                                        classes, standard_normalization("cifar100"), ImageShape{kSide, kSide, 3},
                                        std::move(pixels), std::move(labels), file);
}

}  // namespace data
}  // namespace retort
