#include "data/idx.h"

#include <limits>
#include <sstream>

#include "data/gzip.h"
#include "data/paths.h"
#include "tensor/error.h"
#include "tensor/file_io.h"

namespace retort {
namespace data {

namespace {

uint32_t big_endian_u32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

std::string hex32(uint32_t v) {
  std::ostringstream os;
  os << "0x" << std::hex;
  os.width(8);
  os.fill('0');
  os << v;
  return os.str();
}

}  // namespace

IdxArray read_idx(const std::string& path, int ndim) { return parse_idx(read_file(path), path, ndim); }

IdxArray parse_idx(const std::string& file_bytes, const std::string& path, int ndim) {
  const bool gz = is_gzip(file_bytes);
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  // The header first (of gzip data, only its decompressed start): it declares the size of the rest.
  const std::string head = gz ? gunzip_prefix(file_bytes, path, header) : file_bytes.substr(0, header);
  const uint32_t expected_magic = 0x0800u | static_cast<uint32_t>(ndim);
  RETORT_CHECK(head.size() >= 4, path << ": truncated IDX file: " << head.size()
                                      << " bytes, expected at least the 4-byte magic " << hex32(expected_magic));
  const uint32_t magic = big_endian_u32(head, 0);
  RETORT_CHECK(magic == expected_magic,
               path << ": wrong IDX magic " << hex32(magic) << ", expected " << hex32(expected_magic) << " (unsigned bytes, "
                    << ndim << (ndim == 1 ? " dimension: a label file)" : " dimensions: an image file)"));
  RETORT_CHECK(head.size() >= header, path << ": truncated IDX file: " << head.size() << " bytes, the header of "
                                           << ndim << " dimensions needs " << header);
  IdxArray a;
  size_t count = 1;
  bool overflow = false;
  std::ostringstream dims;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t v = big_endian_u32(head, 4 + 4 * static_cast<size_t>(d));
    a.dims.push_back(v);
    if (v != 0 && count > (std::numeric_limits<size_t>::max() - header) / v) overflow = true;
    else count *= v;
    dims << (d ? " x " : "") << v;
  }
  RETORT_CHECK(!overflow, path << ": the IDX header declares " << dims.str()
                               << " values, a count that overflows (a corrupt file)");
  const size_t expected = header + count;
  // Gzip data may not decompress to more than the header declares.
  const std::string inflated = gz ? gunzip(file_bytes, path, expected) : std::string();
  const std::string& bytes = gz ? inflated : file_bytes;
  RETORT_CHECK(bytes.size() >= expected, path << ": truncated IDX file: the header promises " << dims.str() << " = "
                                              << count << " values (" << expected << " bytes), the file holds "
                                              << bytes.size() << " bytes");
  RETORT_CHECK(bytes.size() == expected, path << ": " << bytes.size() - expected
                                              << " trailing bytes after the " << dims.str() << " values the header "
                                              << "describes (" << expected << " bytes expected)");
  a.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return a;
}

std::shared_ptr<ArrayDataset> load_idx(const std::string& images_path, const std::string& labels_path,
                                       std::string name, std::vector<std::string> classes,
                                       Normalization normalization) {
  IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  RETORT_CHECK(images.dims[0] == labels.dims[0], images_path << " holds " << images.dims[0] << " images but "
                                                             << labels_path << " holds " << labels.dims[0]
                                                             << " labels");
  RETORT_CHECK(images.dims[0] > 0, images_path << ": holds no images");
  RETORT_CHECK(images.dims[1] > 0 && images.dims[2] > 0, images_path << ": image size " << images.dims[1] << " x "
                                                                      << images.dims[2] << " is empty");
  std::vector<int64_t> y(labels.values.begin(), labels.values.end());
  const ImageShape shape{static_cast<int>(images.dims[1]), static_cast<int>(images.dims[2]), 1};
  return std::make_shared<ArrayDataset>(std::move(name), std::move(classes), std::move(normalization), shape,
                                        std::move(images.values), std::move(y), labels_path);
}

const std::vector<std::string>& mnist_classes() {
  static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::shared_ptr<ArrayDataset> load_mnist(const std::string& dir, Split split, bool fashion) {
  const char* kind = fashion ? "fashion-mnist" : "mnist";
  require_directory(dir, kind);
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images = prefix + "-images-idx3-ubyte", labels = prefix + "-labels-idx1-ubyte";
  // The first folder that holds the image file, plain or .gz.
  for (const std::string& sub : {std::string(), std::string("/raw"), std::string("/package/data"), std::string("/data")}) {
    const std::string base = dir + sub + "/";
    for (const char* ext : {"", ".gz"}) {
      if (!is_file(base + images + ext)) continue;
      std::string label_file = base + labels + ext;
      if (!is_file(label_file)) label_file = base + labels + (ext[0] ? "" : ".gz");
      RETORT_CHECK(is_file(label_file), kind << ": found " << base + images + ext << " but not " << base + labels
                                             << "[.gz] beside it");
      return load_idx(base + images + ext, label_file,
                      std::string(kind) + " " + split_name(split) + " (" + dir + ")",
                      fashion ? fashion_mnist_classes() : mnist_classes(),
                      standard_normalization(fashion ? "fashion-mnist" : "mnist"));
    }
  }
  RETORT_FAIL(kind << ": " << dir << " holds no " << images << "[.gz] (expected the four IDX files "
                   << "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                   << "t10k-labels-idx1-ubyte, optionally gzip-compressed)");
}

}  // namespace data
}  // namespace retort
