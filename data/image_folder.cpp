#include "data/image_folder.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "data/decode.h"
#include "data/paths.h"
#include "data/resize.h"
#include "tensor/file_io.h"
#include "tensor/error.h"

namespace retort {
namespace data {

// One decoded image, published once: state goes Empty -> Filling -> Ready and
// never back, so readers that see Ready (acquire) read finished pixels.
struct ImageFolder::Slot {
  enum : int { Empty = 0, Filling = 1, Ready = 2 };
  std::atomic<int> state{Empty};
  int height = 0, width = 0;
  std::unique_ptr<uint8_t[]> pixels;
};

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> ext{".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tga", ".gif"};
  return ext;
}

std::string image_folder_split_dir(const std::string& root, Split split, const std::string& kind) {
  require_directory(root, kind);
  if (split == Split::Train) {
    RETORT_CHECK(is_directory(root + "/train"), kind << ": " << root << " has no train/ folder (expected ROOT/train/<class>/<image>)");
    return root + "/train";
  }
  if (is_directory(root + "/test")) return root + "/test";
  if (is_directory(root + "/val")) return root + "/val";
  RETORT_FAIL(kind << ": " << root << " has neither test/ nor val/ folder (expected ROOT/test/<class>/<image>)");
}

namespace {

bool is_image_name(const std::string& name) {
  const std::vector<std::string>& exts = image_extensions();
  return name[0] != '.' && std::find(exts.begin(), exts.end(), extension_lower(name)) != exts.end();
}

void check_image_file(const std::string& path) {
  const int64_t bytes = file_size(path);
  RETORT_CHECK(bytes != 0, path << ": empty image file (0 bytes)");
  RETORT_CHECK(bytes > 0, path << ": cannot read the image file");
}

// The image files under `dir`, nested folders included (torchvision walks
// class folders the same way), each folder's files sorted by name.
void collect_images(const std::string& dir, int depth, std::vector<std::string>& out) {
  RETORT_CHECK(depth < 32, "image folder: " << dir << " is nested more than 32 folders deep (a symbolic link loop?)");
  const DirectoryListing l = list_directory(dir);
  for (const std::string& f : l.files) {
    if (!is_image_name(f)) continue;
    check_image_file(dir + "/" + f);
    out.push_back(dir + "/" + f);
  }
  for (const std::string& d : l.directories)
    if (d[0] != '.') collect_images(dir + "/" + d, depth + 1, out);
}

// Tiny-ImageNet's val/: images/ and val_annotations.txt, one "FILE<TAB>CLASS..." line per image.
bool is_annotated_folder(const std::string& dir) {
  return is_file(dir + "/val_annotations.txt") && is_directory(dir + "/images");
}

}  // namespace

std::vector<std::string> image_folder_classes(const std::string& dir) {
  require_directory(dir, "image folder");
  std::vector<std::string> classes;
  for (const std::string& c : list_directory(dir).directories)
    if (c[0] != '.') classes.push_back(c);
  return classes;
}

ImageFolder::ImageFolder(const std::string& dir, std::string name, Normalization normalization,
                         const ImageFolderOptions& options)
    : Dataset(std::move(name), {}, std::move(normalization)), options_(options), dir_(dir) {
  RETORT_CHECK(options.channels == 1 || options.channels == 3,
               "image folder: expected 1 or 3 channels, found " << options.channels);
  RETORT_CHECK((options.height > 0) == (options.width > 0) && options.height >= 0,
               "image folder: expected a resize of positive height and width, found " << options.height << "x"
                                                                                      << options.width);
  require_directory(dir, "image folder");
  std::vector<std::string> classes = options.classes;
  const auto class_index = [&](const std::string& c) {
    return std::find(classes.begin(), classes.end(), c) - classes.begin();
  };
  if (is_annotated_folder(dir)) {
    const std::string list = dir + "/val_annotations.txt";
    RETORT_CHECK(!classes.empty(), "image folder: " << dir << " is labelled by " << list
                                                    << "; its classes come from the train folder beside it");
    std::istringstream in(read_file(list));
    std::vector<std::pair<std::string, int64_t>> entries;
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      std::istringstream fields(line);
      std::string file, cls;
      if (!(fields >> file)) continue;  // blank line
      RETORT_CHECK(static_cast<bool>(fields >> cls), list << ": line " << line_no << " has no class after the file name");
      const auto k = class_index(cls);
      RETORT_CHECK(k < static_cast<std::ptrdiff_t>(classes.size()),
                   list << ": line " << line_no << ": class '" << cls << "' is not one of the " << classes.size()
                        << " classes of the train split");
      const std::string path = dir + "/images/" + file;
      RETORT_CHECK(is_file(path), list << ": line " << line_no << " names " << path << ", which does not exist");
      check_image_file(path);
      entries.emplace_back(path, static_cast<int64_t>(k));
    }
    RETORT_CHECK(!entries.empty(), list << ": lists no images");
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) files_.push_back(e.first), labels_.push_back(e.second);
  } else {
    const std::vector<std::string> folders = image_folder_classes(dir);
    RETORT_CHECK(!folders.empty(), "image folder: " << dir << " holds no class folders (expected " << dir
                                                    << "/<class>/<image>)");
    if (classes.empty()) classes = folders;
    for (const std::string& folder : folders) {
      const auto k = class_index(folder);
      RETORT_CHECK(k < static_cast<std::ptrdiff_t>(classes.size()),
                   "image folder: " << dir << "/" << folder << " is not one of the " << classes.size()
                                    << " classes of the train split");
      const std::string class_dir = dir + "/" + folder;
      const size_t before = files_.size();
      collect_images(class_dir, 0, files_);
      RETORT_CHECK(files_.size() > before, "image folder: class folder "
                                               << class_dir << " holds no image files (expected *.jpg, *.jpeg, "
                                               << "*.png, *.bmp, *.ppm, *.pgm, *.tga or *.gif)");
      labels_.resize(files_.size(), static_cast<int64_t>(k));
    }
  }
  set_classes(std::move(classes));
  cache_.reset(new Slot[files_.size()]);
}

ImageFolder::~ImageFolder() = default;

ImageShape ImageFolder::image_shape() const {
  return ImageShape{options_.height, options_.width, options_.channels};
}

int64_t ImageFolder::label(int64_t index) const {
  check_index(index);
  return labels_[static_cast<size_t>(index)];
}

const std::string& ImageFolder::path(int64_t index) const {
  check_index(index);
  return files_[static_cast<size_t>(index)];
}

void ImageFolder::load(int64_t index, Image& out) const {
  check_index(index);
  Slot& slot = cache_[static_cast<size_t>(index)];
  if (slot.state.load(std::memory_order_acquire) == Slot::Ready) {
    out.reshape(slot.height, slot.width, options_.channels);
    std::memcpy(out.data(), slot.pixels.get(), out.pixels.size());
    return;
  }
  const std::string& file = files_[static_cast<size_t>(index)];
  if (options_.height > 0) {
    thread_local Image decoded;
    read_image(file, options_.channels, decoded);
    if (decoded.height == options_.height && decoded.width == options_.width) out = decoded;
    else resize_bilinear(decoded, options_.height, options_.width, out);
  } else {
    read_image(file, options_.channels, out);
  }
  // Cache it when the budget allows and no other thread is filling this slot.
  const int64_t bytes = static_cast<int64_t>(out.pixels.size());
  if (options_.cache_bytes <= 0 || slot.state.load(std::memory_order_relaxed) != Slot::Empty) return;
  if (cached_bytes_.fetch_add(bytes) + bytes > options_.cache_bytes) {
    cached_bytes_.fetch_sub(bytes);
    return;
  }
  int expected = Slot::Empty;
  if (!slot.state.compare_exchange_strong(expected, Slot::Filling, std::memory_order_acq_rel)) {
    cached_bytes_.fetch_sub(bytes);
    return;
  }
  slot.pixels.reset(new uint8_t[static_cast<size_t>(bytes)]);
  std::memcpy(slot.pixels.get(), out.data(), static_cast<size_t>(bytes));
  slot.height = out.height;
  slot.width = out.width;
  cached_images_.fetch_add(1);
  slot.state.store(Slot::Ready, std::memory_order_release);
}

}  // namespace data
}  // namespace retort
