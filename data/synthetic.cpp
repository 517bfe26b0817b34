#include "data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tensor/error.h"
#include "tensor/kernels/philox.h"

namespace retort {
namespace data {

namespace {

std::vector<std::string> class_names(int64_t n) {
  std::vector<std::string> names;
  for (int64_t k = 0; k < n; ++k) names.push_back("class_" + std::to_string(k));
  return names;
}

std::string describe(const SyntheticOptions& o, Split split) {
  std::ostringstream os;
  os << "synthetic " << split_name(split) << " (classes " << o.classes << ", " << o.size << "x" << o.size << "x"
     << o.channels << ", n " << o.n << ", seed " << o.seed << ")";
  return os.str();
}

}  // namespace

SyntheticDataset::SyntheticDataset(const SyntheticOptions& options, Split split)
    : Dataset(describe(options, split), class_names(options.classes),
              Normalization{std::vector<float>(static_cast<size_t>(std::max(options.channels, 0)), 0.5f),
                            std::vector<float>(static_cast<size_t>(std::max(options.channels, 0)), 0.25f)}),
      options_(options),
      split_(split) {
  RETORT_CHECK(options.classes >= 1 && options.classes <= 100000,
               "synthetic: expected classes in [1, 100000], found " << options.classes);
  RETORT_CHECK(options.size >= 1 && options.size <= 4096, "synthetic: expected size in [1, 4096], found " << options.size);
  RETORT_CHECK(options.channels == 1 || options.channels == 3,
               "synthetic: expected channels 1 or 3, found " << options.channels);
  RETORT_CHECK(options.n >= 1, "synthetic: expected n >= 1, found " << options.n);
}

int64_t SyntheticDataset::label(int64_t index) const {
  check_index(index);
  return index % options_.classes;
}

void SyntheticDataset::load(int64_t index, Image& out) const {
  check_index(index);
  const int64_t k = index % options_.classes;
  const int S = options_.size, C = options_.channels;
  const uint64_t stream = split_ == Split::Train ? 0x53594e0000000001ull : 0x53594e0000000002ull;  // "SYN"
  const PhiloxState per_sample{options_.seed, stream, static_cast<uint64_t>(index) << 24};
  const Philox4 r = philox_at(per_sample, 0);
  const double two_pi = 6.283185307179586;
  const double theta = 3.141592653589793 * static_cast<double>(k) / static_cast<double>(options_.classes);
  const double freq = 1.0 + static_cast<double>(k % 3);
  const double phase = two_pi * philox_uniform(r.v[0]);
  const double ct = std::cos(theta), st = std::sin(theta);
  out.reshape(S, S, C);
  uint64_t noise_counter = 1;
  Philox4 noise{};
  int lane = 4;
  for (int y = 0; y < S; ++y) {
    for (int x = 0; x < S; ++x) {
      const double t = two_pi * freq * (x * ct + y * st) / S + phase;
      for (int c = 0; c < C; ++c) {
        if (lane == 4) {
          noise = philox_at(per_sample, noise_counter++);
          lane = 0;
        }
        const double colour = two_pi * static_cast<double>((k * (c + 1)) % options_.classes) / options_.classes;
        const double v = 128.0 + 70.0 * std::sin(t + colour) + 40.0 * (philox_uniform(noise.v[lane++]) - 0.5);
        out.at(y, x, c) = static_cast<uint8_t>(std::min(255.0, std::max(0.0, std::round(v))));
      }
    }
  }
}

}  // namespace data
}  // namespace retort
