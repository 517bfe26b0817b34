// Gzip-compressed IDX: gunzip and gunzip_prefix on the bytes (seeded with
// .gz files), then parse_idx. Within its cap gunzip returns the whole data,
// and a prefix is the start of it.
#include <stdexcept>

#include "data/gzip.h"
#include "data/idx.h"
#include "tests/fuzz/fuzz_target.h"

RETORT_FUZZ_TARGET(idx_gzip) {
  namespace rd = retort::data;
  const std::string bytes = retort::fuzz::as_string(data, size);
  const size_t cap = size_t{1} << 20;
  const std::string whole = rd::gunzip(bytes, "fuzz.gz", cap);
  if (whole.size() > cap) throw std::logic_error("gunzip: output beyond its cap");
  for (size_t n : {size_t{0}, size_t{8}, size_t{16}, whole.size(), whole.size() + 1}) {
    const std::string prefix = rd::gunzip_prefix(bytes, "fuzz.gz", n);
    if (prefix != whole.substr(0, n)) throw std::logic_error("gunzip_prefix: not the start of gunzip's output");
  }
  retort::fuzz::try_each({[&] { rd::parse_idx(bytes, "fuzz-idx.gz", 1); },
                          [&] { rd::parse_idx(bytes, "fuzz-idx.gz", 3); }});
}
