// read_cifar_records on the bytes as a CIFAR-10 file and as a CIFAR-100 file
// (fine and coarse labels). What reads holds 3072 pixels per label, each
// label within its classes.
#include <stdexcept>

#include "data/cifar.h"
#include "tests/fuzz/fuzz_target.h"

RETORT_FUZZ_TARGET(cifar) {
  const std::string bytes = retort::fuzz::as_string(data, size);
  struct Layout {
    int label_bytes, label_byte;
    int64_t classes;
  };
  const auto read = [&](const Layout& l) {
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;
    retort::data::read_cifar_records(bytes, "fuzz.bin", l.label_bytes, l.label_byte, l.classes, pixels, labels);
    if (pixels.size() != labels.size() * 3072) throw std::logic_error("read_cifar_records: pixels do not match");
    for (int64_t y : labels)
      if (y < 0 || y >= l.classes) throw std::logic_error("read_cifar_records: a label out of range");
  };
  retort::fuzz::try_each({[&] { read(Layout{1, 0, 10}); }, [&] { read(Layout{2, 1, 100}); },
                          [&] { read(Layout{2, 0, 20}); }});
}
