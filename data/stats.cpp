#include "data/stats.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "tensor/error.h"

namespace retort {
namespace data {

namespace {

struct Partial {
  std::vector<int64_t> counts;
  std::vector<uint64_t> sum, sum_sq;  // per channel, exact
  uint64_t pixels = 0;                // per channel
  int min_h = std::numeric_limits<int>::max(), max_h = 0, min_w = std::numeric_limits<int>::max(), max_w = 0;
  int channels = -1;
};

void accumulate(const Dataset& ds, int64_t begin, int64_t end, Partial& p) {
  Image img;
  p.counts.assign(static_cast<size_t>(ds.num_classes()), 0);
  for (int64_t i = begin; i < end; ++i) {
    ds.load(i, img);
    ++p.counts[static_cast<size_t>(ds.label(i))];
    if (p.channels < 0) {
      p.channels = img.channels;
      p.sum.assign(static_cast<size_t>(img.channels), 0);
      p.sum_sq.assign(static_cast<size_t>(img.channels), 0);
    }
    RETORT_CHECK(img.channels == p.channels, ds.name() << ": image " << i << " has " << img.channels
                                                       << " channels, others " << p.channels);
    p.min_h = std::min(p.min_h, img.height), p.max_h = std::max(p.max_h, img.height);
    p.min_w = std::min(p.min_w, img.width), p.max_w = std::max(p.max_w, img.width);
    const int C = img.channels;
    const size_t n = img.pixels.size();
    for (int c = 0; c < C; ++c) {
      uint64_t s = 0, s2 = 0;
      for (size_t k = static_cast<size_t>(c); k < n; k += C) {
        const uint64_t v = img.pixels[k];
        s += v;
        s2 += v * v;
      }
      p.sum[static_cast<size_t>(c)] += s;
      p.sum_sq[static_cast<size_t>(c)] += s2;
    }
    p.pixels += static_cast<uint64_t>(img.height) * img.width;
  }
}

}  // namespace

SplitStats compute_stats(const Dataset& ds, int threads) {
  const int64_t n = ds.size();
  int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(t, n)));
  std::vector<Partial> parts(static_cast<size_t>(t));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  std::vector<std::thread> pool;
  for (int k = 0; k < t; ++k) {
    pool.emplace_back([&, k] {
      try {
        accumulate(ds, n * k / t, n * (k + 1) / t, parts[static_cast<size_t>(k)]);
      } catch (...) {
        errors[static_cast<size_t>(k)] = std::current_exception();
      }
    });
  }
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);

  SplitStats s;
  s.samples = n;
  s.class_counts.assign(static_cast<size_t>(ds.num_classes()), 0);
  Partial all;
  for (const Partial& p : parts) {
    if (p.channels < 0) continue;
    if (all.channels < 0) {
      all.channels = p.channels;
      all.sum.assign(p.sum.size(), 0);
      all.sum_sq.assign(p.sum.size(), 0);
    }
    RETORT_CHECK(p.channels == all.channels, ds.name() << ": images have " << p.channels << " and " << all.channels
                                                       << " channels");
    for (size_t c = 0; c < p.sum.size(); ++c) all.sum[c] += p.sum[c], all.sum_sq[c] += p.sum_sq[c];
    all.pixels += p.pixels;
    all.min_h = std::min(all.min_h, p.min_h), all.max_h = std::max(all.max_h, p.max_h);
    all.min_w = std::min(all.min_w, p.min_w), all.max_w = std::max(all.max_w, p.max_w);
    for (size_t k = 0; k < p.counts.size(); ++k) s.class_counts[k] += p.counts[k];
  }
  s.channels = all.channels;
  s.min_height = all.min_h, s.max_height = all.max_h, s.min_width = all.min_w, s.max_width = all.max_w;
  for (size_t c = 0; c < all.sum.size(); ++c) {
    const double m = static_cast<double>(all.sum[c]) / all.pixels;
    const double var = std::max(0.0, static_cast<double>(all.sum_sq[c]) / all.pixels - m * m);
    s.mean.push_back(m / 255.0);
    s.std.push_back(std::sqrt(var) / 255.0);
  }
  return s;
}

}  // namespace data
}  // namespace retort
