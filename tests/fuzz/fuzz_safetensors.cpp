// safetensors::parse on the bytes as a whole file. What parses must
// serialize and parse back to the same names, dtypes, shapes, bytes and
// metadata.
#include <cstring>
#include <stdexcept>

#include "tensor/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

namespace st = retort::safetensors;

RETORT_FUZZ_TARGET(safetensors) {
  const st::Contents first = st::parse(data, size, "fuzz.safetensors");
  const std::string again = st::serialize(first.tensors, first.metadata);
  const st::Contents second =
      st::parse(reinterpret_cast<const uint8_t*>(again.data()), again.size(), "fuzz-resaved.safetensors");
  bool same = first.tensors.size() == second.tensors.size() && first.metadata == second.metadata;
  for (size_t i = 0; same && i < first.tensors.size(); ++i) {
    const retort::Tensor& a = first.tensors[i].tensor;
    const retort::Tensor& b = second.tensors[i].tensor;
    same = first.tensors[i].name == second.tensors[i].name && a.dtype() == b.dtype() && a.shape() == b.shape() &&
           (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
  }
  if (!same) throw std::logic_error("safetensors: a parsed file does not survive serialize + parse");
}
