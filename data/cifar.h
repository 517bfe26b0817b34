// CIFAR-10 and CIFAR-100 in their official binary versions.
//   CIFAR-10  (cifar-10-binary.tar.gz): data_batch_1..5.bin, test_batch.bin;
//             records of 1 label byte + 3072 pixel bytes.
//   CIFAR-100 (cifar-100-binary.tar.gz): train.bin, test.bin; records of
//             1 coarse label byte, 1 fine label byte, 3072 pixel bytes.
// Pixels are planar (1024 red, 1024 green, 1024 blue, rows top to bottom) and
// are interleaved to HWC once, on load.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace retort {
namespace data {

// The folder under `dir` that holds the binary files (dir itself or the
// tarball's cifar-10-batches-bin / cifar-100-binary), or "" when neither does.
std::string find_cifar_binary_dir(const std::string& dir, bool cifar100);

// CIFAR-10 from `dir` (or dir/cifar-10-batches-bin). Class names come from
// batches.meta.txt when present, else the standard list.
std::shared_ptr<ArrayDataset> load_cifar10(const std::string& dir, Split split);

// CIFAR-100 from `dir` (or dir/cifar-100-binary): fine labels (100 classes) by
// default, coarse labels (20 superclasses) when `coarse`.
std::shared_ptr<ArrayDataset> load_cifar100(const std::string& dir, Split split, bool coarse);

// Reads records from one binary file, appending HWC pixels and labels.
// `label_bytes` is 1 (CIFAR-10) or 2 (CIFAR-100), `label_byte` which of them
// is the label, `classes` the label bound.
void read_cifar_file(const std::string& path, int label_bytes, int label_byte, int64_t classes,
                     std::vector<uint8_t>& pixels, std::vector<int64_t>& labels);
// The same from the file's bytes (`path` names the file in errors).
void read_cifar_records(const std::string& bytes, const std::string& path, int label_bytes, int label_byte,
                        int64_t classes, std::vector<uint8_t>& pixels, std::vector<int64_t>& labels);

const std::vector<std::string>& cifar10_classes();
const std::vector<std::string>& cifar100_fine_classes();
const std::vector<std::string>& cifar100_coarse_classes();

}  // namespace data
}  // namespace retort
