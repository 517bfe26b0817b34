#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "data/loader.h"
#include "data/randaugment.h"
#include "data/synthetic.h"
#include "tensor/allocator.h"
#include "tests/data/data_files.h"

namespace retort {
namespace {

std::shared_ptr<const data::Dataset> synthetic(int64_t n, int size = 8) {
  data::SyntheticOptions o;
  o.n = n;
  o.size = size;
  o.classes = 5;
  return std::make_shared<data::SyntheticDataset>(o, data::Split::Train);
}

data::Transform cifar_like(int size) {
  data::Transform t;
  t.then(std::make_shared<data::RandomCrop>(size, size, 2)).then(std::make_shared<data::RandomHorizontalFlip>());
  t.normalize(data::Normalization{{0.5f}, {0.25f}});
  return t;
}

data::Transform strong(int size) {
  data::Transform t;
  t.then(std::make_shared<data::RandomCrop>(size, size, 2)).then(std::make_shared<data::RandAugment>(2));
  t.then(std::make_shared<data::Cutout>());
  return t;
}

// Everything an epoch delivers, as plain vectors.
struct EpochData {
  std::vector<std::vector<float>> views;
  std::vector<int64_t> labels, indices, batch_sizes;
};

EpochData run_epoch(data::Loader& loader, int64_t epoch, int64_t first_batch = 0) {
  EpochData e;
  loader.start_epoch(epoch, first_batch);
  data::Batch b;
  int64_t expected_index = first_batch;
  while (loader.next(b)) {
    EXPECT_EQ(b.index, expected_index++);
    EXPECT_EQ(b.epoch, epoch);
    e.views.resize(b.views.size());
    for (size_t v = 0; v < b.views.size(); ++v) {
      const std::vector<float> x = b.views[v].to_vector<float>();
      e.views[v].insert(e.views[v].end(), x.begin(), x.end());
    }
    EXPECT_EQ(b.images.storage(), b.views[0].storage());
    const std::vector<int64_t> l = b.labels.to_vector<int64_t>(), i = b.indices.to_vector<int64_t>();
    e.labels.insert(e.labels.end(), l.begin(), l.end());
    e.indices.insert(e.indices.end(), i.begin(), i.end());
    e.batch_sizes.push_back(b.size());
  }
  EXPECT_EQ(expected_index, loader.num_batches());
  return e;
}

data::LoaderOptions options(int workers, int64_t batch = 7, bool drop_last = false) {
  data::LoaderOptions o;
  o.batch_size = batch;
  o.workers = workers;
  o.drop_last = drop_last;
  o.seed = 42;
  return o;
}

TEST(Loader, BatchesHoldTransformedSamplesInOrder) {
  auto ds = synthetic(20);
  data::Loader loader(ds, cifar_like(8), options(2));
  EXPECT_EQ(loader.num_batches(), 3);
  const EpochData e = run_epoch(loader, 0);
  EXPECT_EQ(e.batch_sizes, (std::vector<int64_t>{7, 7, 6}));
  // Every sample exactly once, labels matching, values those of the transform.
  std::vector<int64_t> sorted = e.indices;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 20; ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i);
  const data::Transform t = cifar_like(8);
  data::Image img;
  data::TransformScratch scratch;
  std::vector<float> expected(8 * 8 * 3);
  for (size_t j = 0; j < 20; ++j) {
    EXPECT_EQ(e.labels[j], ds->label(e.indices[j]));
    ds->load(e.indices[j], img);
    data::SampleRng rng = data::sample_rng(42, 0, 0, e.indices[j]);
    t.apply(img, rng, scratch, expected.data());
    ASSERT_EQ(0, std::memcmp(expected.data(), e.views[0].data() + j * expected.size(), expected.size() * sizeof(float)))
        << "sample " << j;
  }
}

TEST(Loader, BitIdenticalFor0124Workers) {
  auto ds = synthetic(53);
  std::vector<EpochData> runs;
  for (int workers : {0, 1, 2, 4}) {
    data::Loader loader(ds, {cifar_like(8), strong(8)}, options(workers, 8));
    runs.push_back(run_epoch(loader, 3));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    EXPECT_EQ(runs[r].indices, runs[0].indices) << "run " << r;
    EXPECT_EQ(runs[r].labels, runs[0].labels) << "run " << r;
    ASSERT_EQ(runs[r].views.size(), 2u);
    EXPECT_EQ(runs[r].views[0], runs[0].views[0]) << "run " << r;
    EXPECT_EQ(runs[r].views[1], runs[0].views[1]) << "run " << r;
  }
  // The two views of a sample differ (independent draws, different ops).
  EXPECT_NE(runs[0].views[0], runs[0].views[1]);
}

TEST(Loader, ShuffleDiffersPerEpochAndRepeatsForTheSameSeed) {
  auto ds = synthetic(40);
  data::Loader a(ds, cifar_like(8), options(2, 8));
  data::Loader b(ds, cifar_like(8), options(1, 8));
  const EpochData a0 = run_epoch(a, 0), a1 = run_epoch(a, 1), b1 = run_epoch(b, 1), b0 = run_epoch(b, 0);
  EXPECT_NE(a0.indices, a1.indices);
  EXPECT_EQ(a0.indices, b0.indices);
  EXPECT_EQ(a1.indices, b1.indices);
  EXPECT_EQ(a1.views[0], b1.views[0]);
  EXPECT_EQ(a.epoch_order(1), a1.indices);
  // Another seed, another order; shuffle off, the identity.
  data::LoaderOptions o = options(2, 8);
  o.seed = 43;
  EXPECT_NE(data::Loader(ds, cifar_like(8), o).epoch_order(0), a0.indices);
  o.shuffle = false;
  std::vector<int64_t> identity(40);
  for (int64_t i = 0; i < 40; ++i) identity[static_cast<size_t>(i)] = i;
  EXPECT_EQ(data::Loader(ds, cifar_like(8), o).epoch_order(5), identity);
}

TEST(Loader, ResumeAtABatchReproducesTheRestOfTheEpoch) {
  auto ds = synthetic(45);
  data::Loader full(ds, {cifar_like(8), strong(8)}, options(2, 6));
  const EpochData whole = run_epoch(full, 2);
  for (int64_t first : {1, 4, 7}) {
    data::Loader resumed(ds, {cifar_like(8), strong(8)}, options(first % 3, 6));  // any worker count
    const EpochData rest = run_epoch(resumed, 2, first);
    const size_t skip = static_cast<size_t>(first * 6);
    EXPECT_EQ(rest.indices, std::vector<int64_t>(whole.indices.begin() + skip, whole.indices.end()));
    const size_t per = 8 * 8 * 3;
    for (size_t v = 0; v < 2; ++v)
      EXPECT_EQ(rest.views[v], std::vector<float>(whole.views[v].begin() + skip * per, whole.views[v].end()));
  }
  // Restarting in the middle of an epoch abandons what was prefetched.
  full.start_epoch(2);
  data::Batch b;
  ASSERT_TRUE(full.next(b));
  full.start_epoch(2, 5);
  ASSERT_TRUE(full.next(b));
  EXPECT_EQ(b.index, 5);
  EXPECT_EQ(b.indices.to_vector<int64_t>(), std::vector<int64_t>(whole.indices.begin() + 30, whole.indices.begin() + 36));
  full.start_epoch(2, 8);  // num_batches: an empty rest
  EXPECT_FALSE(full.next(b));
  EXPECT_THROW(full.start_epoch(2, 9), Error);
}

TEST(Loader, DropLast) {
  auto ds = synthetic(20);
  data::Loader keep(ds, cifar_like(8), options(2, 6, false));
  data::Loader drop(ds, cifar_like(8), options(2, 6, true));
  EXPECT_EQ(keep.num_batches(), 4);
  EXPECT_EQ(drop.num_batches(), 3);
  EXPECT_EQ(run_epoch(keep, 0).batch_sizes, (std::vector<int64_t>{6, 6, 6, 2}));
  const EpochData d = run_epoch(drop, 0);
  EXPECT_EQ(d.batch_sizes, (std::vector<int64_t>{6, 6, 6}));
  const std::vector<int64_t> order = drop.epoch_order(0);
  EXPECT_EQ(d.indices, std::vector<int64_t>(order.begin(), order.begin() + 18));
  EXPECT_ERROR_WITH(data::Loader(synthetic(5), cifar_like(8), options(1, 6, true)), "fewer than one batch");
}

TEST(Loader, SteadyStateReusesBuffersAndKeptBatchesStayIntact) {
  auto ds = synthetic(64);
  data::Loader loader(ds, cifar_like(8), options(2, 8));
  run_epoch(loader, 0);  // warm: slots and the allocator's free lists are sized
  const uint64_t before = cpu_allocator().stats().system_allocs;
  run_epoch(loader, 1);
  run_epoch(loader, 2);
  EXPECT_EQ(cpu_allocator().stats().system_allocs, before);
  // A batch kept past next() is not overwritten by later batches.
  loader.start_epoch(4);
  data::Batch b;
  ASSERT_TRUE(loader.next(b));
  const Tensor kept = b.images;
  const std::vector<float> snapshot = kept.to_vector<float>();
  while (loader.next(b)) {
  }
  EXPECT_EQ(kept.to_vector<float>(), snapshot);
}

// A data set whose sample 13 cannot be read, like a corrupt image file.
class Faulty : public data::Dataset {
 public:
  Faulty() : data::Dataset("faulty", {"a", "b"}, {}) {}
  int64_t size() const override { return 30; }
  data::ImageShape image_shape() const override { return {4, 4, 1}; }
  int64_t label(int64_t i) const override { return i % 2; }
  void load(int64_t i, data::Image& out) const override {
    RETORT_CHECK(i != 13, "broken.png: cannot decode image");
    out.reshape(i == 21 ? 5 : 4, 4, 1);
    std::fill(out.pixels.begin(), out.pixels.end(), static_cast<uint8_t>(i));
  }
};

TEST(Loader, WorkerErrorsSurfaceInNext) {
  for (int workers : {0, 2}) {
    data::LoaderOptions o = options(workers, 4);
    o.shuffle = false;
    data::Loader loader(std::make_shared<Faulty>(), data::Transform(), o);
    loader.start_epoch(0);
    data::Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_TRUE(loader.next(b));
    ASSERT_TRUE(loader.next(b));  // 8..11
    EXPECT_ERROR_WITH(loader.next(b), "broken.png");  // 12..15
    ASSERT_TRUE(loader.next(b));  // 16..19: the loader goes on
    EXPECT_EQ(b.index, 4);
    // A sample of another size than the batch is a clear error, not a buffer overrun.
    EXPECT_ERROR_WITH(loader.next(b), "sample 21 of faulty (5x4x1) becomes 5x4x1", "batch holds 4x4x1");
  }
}

TEST(Loader, RejectsBadOptions) {
  auto ds = synthetic(10);
  EXPECT_ERROR_WITH(data::Loader(ds, cifar_like(8), options(1, 0)), "batch_size >= 1");
  EXPECT_ERROR_WITH(data::Loader(ds, std::vector<data::Transform>{}, options(1)), "expected 1 to 255 transforms");
  EXPECT_ERROR_WITH(data::Loader(ds, cifar_like(8), options(-1)), "workers");
  data::Loader loader(ds, cifar_like(8), options(1));
  data::Batch b;
  EXPECT_FALSE(loader.next(b));  // before start_epoch
}

}  // namespace
}  // namespace retort
