// Loader: shuffles a Dataset each epoch, runs one or more Transforms (views)
// per sample on worker threads, and delivers batches of f32 NHWC images plus
// i64 labels and sample indices on the requested device.
//
//   data::Loader loader(dataset, {train_transform}, LoaderOptions{64, true, false, 2, seed});
//   for (int64_t epoch = start; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch, epoch == start ? resume_batch : 0);
//     data::Batch b;
//     while (loader.next(b)) { b.images ...; b.labels ...; }
//   }
//
// Reproducibility. The order of epoch e is a Fisher-Yates shuffle of
// 0..N-1 drawn from Philox (key seed, stream shuffle_stream(e)); the
// augmentation of sample i in view v is drawn from sample_rng(seed, e, v, i)
// (data/transforms.h). Batch b holds positions [b * batch_size, ...) of that
// order. So every batch is a pure function of (dataset, transforms, seed,
// epoch, batch index): identical for any number of workers, and a run resumed
// at (epoch, batch) sees exactly the batches the interrupted one would have.
//
// Threads and memory. Workers are created once, in the constructor. Each
// fills whole batches into one of workers + prefetch slots, whose tensors are
// reused from batch to batch; a batch handed out stays valid until the next
// call of next() or start_epoch(). A caller that keeps a batch's tensors
// longer keeps them intact: a slot whose tensors are still referenced gets
// new ones instead of being overwritten. workers = 0 loads on the calling
// thread inside next(). An exception in a worker (a corrupt image) is
// rethrown by next() on the calling thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "tensor/tensor.h"

namespace retort {
namespace data {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop the last batch when it is smaller than batch_size
  int workers = 2;         // 0: load on the calling thread
  uint64_t seed = 0;
  Device device = Device::cpu();
  int prefetch = 2;        // batches prepared beyond one per worker
};

struct Batch {
  std::vector<Tensor> views;  // per transform, f32 [N, H, W, C]
  Tensor images;              // views[0]
  Tensor labels;              // i64 [N]
  Tensor indices;             // i64 [N]: the samples' indices in the data set
  int64_t epoch = 0;
  int64_t index = 0;          // batch number within the epoch
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, std::vector<Transform> views, const LoaderOptions& options);
  Loader(std::shared_ptr<const Dataset> dataset, Transform transform, const LoaderOptions& options)
      : Loader(std::move(dataset), std::vector<Transform>{std::move(transform)}, options) {}
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t num_batches() const;
  int64_t num_samples() const { return dataset_->size(); }
  // The shape of one transformed sample of each view.
  const std::vector<ImageShape>& view_shapes() const { return shapes_; }
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }

  // Begins epoch `epoch` at batch `first_batch` (0 <= first_batch <= num_batches()),
  // abandoning whatever of the previous epoch was not consumed.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch; false once the epoch is over (or before
  // the first start_epoch).
  bool next(Batch& batch);

  // The order of `epoch` (positions -> sample indices).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  struct Slot;
  struct WorkerScratch;
  void worker_main(int id);
  void fill(Slot& slot, int64_t batch, const std::vector<int64_t>& order, int64_t epoch, WorkerScratch& scratch) const;
  void prepare_slot_tensors(Slot& slot) const;

  std::shared_ptr<const Dataset> dataset_;
  std::vector<Transform> views_;
  LoaderOptions options_;
  std::vector<ImageShape> shapes_;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;
  std::unique_ptr<WorkerScratch> own_scratch_;  // for workers = 0
  bool stop_ = false;
  uint64_t generation_ = 0;  // bumped by start_epoch; stale work is discarded
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t epoch_ = -1;
  int64_t next_claim_ = 0, next_deliver_ = 0, end_ = 0;
  int held_ = -1;  // slot handed to the caller
};

}  // namespace data
}  // namespace retort
