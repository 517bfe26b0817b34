// IDX files (LeCun's format of MNIST and Fashion-MNIST), plain or gzip-
// compressed: a 4-byte magic (0, 0, type 0x08 = unsigned byte, number of
// dimensions), one big-endian u32 per dimension, then the bytes row-major.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace retort {
namespace data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // prod(dims) bytes
};

// Reads a u8 IDX file with `ndim` dimensions. Throws, naming the file, on a
// wrong magic, a truncated file or trailing bytes.
IdxArray read_idx(const std::string& path, int ndim);

// The same from the file's bytes, plain or gzip (`path` names the file in
// errors). Declared sizes are checked before anything is allocated: the
// product of the dimensions must not overflow, a plain file must hold exactly
// that many values, and gzip data may not decompress to more.
IdxArray parse_idx(const std::string& bytes, const std::string& path, int ndim);

// A data set from an image file ([N, H, W]) and a label file ([N]) in IDX.
std::shared_ptr<ArrayDataset> load_idx(const std::string& images_path, const std::string& labels_path,
                                       std::string name, std::vector<std::string> classes,
                                       Normalization normalization);

// MNIST or Fashion-MNIST from DIR holding train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each optionally with .gz. Also looks in DIR/raw and DIR/package/data (the
// torchvision and npm layouts).
std::shared_ptr<ArrayDataset> load_mnist(const std::string& dir, Split split, bool fashion);

const std::vector<std::string>& mnist_classes();
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace data
}  // namespace retort
