// parse_idx on the bytes as a label file (1 dimension) and as an image file
// (3 dimensions). What parses holds exactly the values its dimensions declare.
#include <stdexcept>

#include "data/idx.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

void parse_and_check(const std::string& bytes, int ndim) {
  const retort::data::IdxArray a = retort::data::parse_idx(bytes, "fuzz-idx", ndim);
  size_t count = 1;
  for (int64_t d : a.dims) count *= static_cast<size_t>(d);
  if (a.dims.size() != static_cast<size_t>(ndim) || a.values.size() != count)
    throw std::logic_error("parse_idx: the values do not match the dimensions");
}

}  // namespace

RETORT_FUZZ_TARGET(idx) {
  const std::string bytes = retort::fuzz::as_string(data, size);
  retort::fuzz::try_each({[&] { parse_and_check(bytes, 1); }, [&] { parse_and_check(bytes, 3); }});
}
