#include "data/loader.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "tensor/error.h"
#include "tensor/rng.h"

namespace retort {
namespace data {

// A batch under construction or delivered. Free -> Filling (one worker owns
// it) -> Ready -> Held (the caller has it) -> Free. `generation` tells work
// of an abandoned epoch from current work.
struct Loader::Slot {
  enum State { Free, Filling, Ready, Held };
  State state = Free;
  uint64_t generation = 0;
  int64_t batch = -1;
  int64_t count = 0;
  std::vector<Tensor> views;  // f32 [batch_size, H, W, C] each
  Tensor labels, indices;     // i64 [batch_size]
  std::exception_ptr error;
  // Set when the batch was handed out: its copies to the GPU read the slot's
  // pinned tensors asynchronously, so refilling waits for them.
  DeviceFence copied;
  ~Slot() {
    try {
      copied.wait();  // the pinned tensors go back to the cache only once read
    } catch (const Error&) {
    }
  }
};

struct Loader::WorkerScratch {
  Image decoded;
  TransformScratch transform;
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, std::vector<Transform> views, const LoaderOptions& options)
    : dataset_(std::move(dataset)), views_(std::move(views)), options_(options) {
  RETORT_CHECK(dataset_ != nullptr, "loader: expected a data set, found null");
  RETORT_CHECK(dataset_->size() > 0, "loader: " << dataset_->name() << " holds no samples");
  RETORT_CHECK(!views_.empty() && static_cast<int>(views_.size()) <= kMaxViews,
               "loader: expected 1 to " << kMaxViews << " transforms, found " << views_.size());
  RETORT_CHECK(options_.batch_size >= 1, "loader: expected batch_size >= 1, found " << options_.batch_size);
  RETORT_CHECK(options_.workers >= 0 && options_.workers <= 256,
               "loader: expected 0 to 256 workers, found " << options_.workers);
  RETORT_CHECK(options_.prefetch >= 0, "loader: expected prefetch >= 0, found " << options_.prefetch);
  check_device_usable(options_.device);
  RETORT_CHECK(num_batches() > 0, "loader: " << dataset_->name() << " has " << dataset_->size()
                                             << " samples, fewer than one batch of " << options_.batch_size
                                             << " with drop_last");

  // Batch shapes: from the data set's image shape, or from sample 0 when
  // images differ in size (the transforms must then crop or resize to one size).
  ImageShape in = dataset_->image_shape();
  if (!in.fixed()) {
    Image first;
    dataset_->load(0, first);
    in = first.shape();
  }
  for (const Transform& t : views_) {
    const ImageShape s = t.output_shape(in);
    RETORT_CHECK(s.fixed(), "loader: transform " << t.describe() << " does not give a fixed image size");
    shapes_.push_back(s);
  }

  const int nslots = options_.workers == 0 ? 1 : options_.workers + std::max(options_.prefetch, 0);
  for (int i = 0; i < nslots; ++i) slots_.push_back(std::make_unique<Slot>());
  if (options_.workers == 0) own_scratch_ = std::make_unique<WorkerScratch>();
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back(&Loader::worker_main, this, i);
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

int64_t Loader::num_batches() const {
  const int64_t n = dataset_->size(), bs = options_.batch_size;
  return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  RETORT_CHECK(epoch >= 0, "loader: expected epoch >= 0, found " << epoch);
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!options_.shuffle) return order;
  Generator g(options_.seed, shuffle_stream(epoch));
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[g.next_below(i + 1)]);
  return order;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  RETORT_CHECK(first_batch >= 0 && first_batch <= num_batches(),
               "loader: start batch " << first_batch << " is outside [0, " << num_batches() << "]");
  auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (held_ >= 0) slots_[held_]->state = Slot::Free;
    held_ = -1;
    ++generation_;
    order_ = std::move(order);
    epoch_ = epoch;
    next_claim_ = next_deliver_ = first_batch;
    end_ = num_batches();
    // Finished batches of the old epoch are dropped; batches being filled are
    // dropped by their worker when it sees the new generation.
    for (auto& s : slots_)
      if (s->state == Slot::Ready) s->state = Slot::Free;
  }
  work_cv_.notify_all();
}

void Loader::prepare_slot_tensors(Slot& slot) const {
  // A tensor still referenced outside the loader (a caller kept an old batch)
  // is replaced rather than overwritten; otherwise it is reused as it is.
  const auto reusable = [](const Tensor& t) { return t.defined() && t.storage().use_count() == 1; };
  // Batches bound for a GPU are assembled in pinned memory: the copy to the
  // device then runs at full DMA speed.
  const auto make = [&](const Shape& s, DType t) { return options_.device.is_cuda() ? empty_pinned(s, t) : empty(s, t); };
  const int64_t bs = options_.batch_size;
  slot.views.resize(views_.size());
  for (size_t v = 0; v < views_.size(); ++v) {
    if (!reusable(slot.views[v]))
      slot.views[v] = make(Shape{bs, shapes_[v].height, shapes_[v].width, shapes_[v].channels}, DType::F32);
  }
  if (!reusable(slot.labels)) slot.labels = make(Shape{bs}, DType::I64);
  if (!reusable(slot.indices)) slot.indices = make(Shape{bs}, DType::I64);
}

void Loader::fill(Slot& slot, int64_t batch, const std::vector<int64_t>& order, int64_t epoch,
                  WorkerScratch& scratch) const {
  const int64_t bs = options_.batch_size;
  const int64_t start = batch * bs;
  const int64_t count = std::min(bs, dataset_->size() - start);
  slot.copied.wait();
  prepare_slot_tensors(slot);
  int64_t* labels = slot.labels.data<int64_t>();
  int64_t* indices = slot.indices.data<int64_t>();
  for (int64_t j = 0; j < count; ++j) {
    const int64_t index = order[static_cast<size_t>(start + j)];
    dataset_->load(index, scratch.decoded);
    labels[j] = dataset_->label(index);
    indices[j] = index;
    for (size_t v = 0; v < views_.size(); ++v) {
      SampleRng rng = sample_rng(options_.seed, epoch, static_cast<int>(v), index);
      const Image& out = views_[v].apply_u8(scratch.decoded, rng, scratch.transform);
      RETORT_CHECK(out.shape() == shapes_[v],
                   "loader: sample " << index << " of " << dataset_->name() << " (" << scratch.decoded.shape().str()
                                     << ") becomes " << out.shape().str() << " under transform " << v << " ("
                                     << views_[v].describe() << "), but the batch holds " << shapes_[v].str()
                                     << " images; crop or resize to one size (e.g. size=HxW in the data spec)");
      views_[v].to_float(out, slot.views[v].data<float>() + j * shapes_[v].numel());
    }
  }
  slot.count = count;
}

void Loader::worker_main(int) {
  WorkerScratch scratch;
  const size_t nslots = slots_.size();
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] {
      return stop_ || (next_claim_ < end_ && slots_[static_cast<size_t>(next_claim_) % nslots]->state == Slot::Free);
    });
    if (stop_) return;
    const int64_t b = next_claim_++;
    Slot& slot = *slots_[static_cast<size_t>(b) % nslots];
    slot.state = Slot::Filling;
    slot.generation = generation_;
    slot.batch = b;
    const std::shared_ptr<const std::vector<int64_t>> order = order_;
    const int64_t epoch = epoch_;
    lk.unlock();
    slot.error = nullptr;
    try {
      fill(slot, b, *order, epoch, scratch);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lk.lock();
    if (slot.generation == generation_) {
      slot.state = Slot::Ready;
      ready_cv_.notify_all();
    } else {
      slot.state = Slot::Free;
      work_cv_.notify_all();
    }
  }
}

bool Loader::next(Batch& batch) {
  // Drop the caller's references first, so the slot they came from can be
  // refilled in place.
  for (Tensor& t : batch.views) t = Tensor();
  batch.images = batch.labels = batch.indices = Tensor();

  std::unique_lock<std::mutex> lk(mu_);
  if (held_ >= 0) {
    slots_[held_]->state = Slot::Free;
    held_ = -1;
    work_cv_.notify_all();
  }
  if (epoch_ < 0 || next_deliver_ >= end_) return false;
  const int64_t d = next_deliver_;
  const int si = static_cast<int>(static_cast<size_t>(d) % slots_.size());
  Slot& slot = *slots_[si];
  if (options_.workers == 0) {
    slot.state = Slot::Filling;
    slot.generation = generation_;
    slot.batch = d;
    next_claim_ = d + 1;
    slot.error = nullptr;
    try {
      fill(slot, d, *order_, epoch_, *own_scratch_);
    } catch (...) {
      slot.error = std::current_exception();
    }
    slot.state = Slot::Ready;
  }
  ready_cv_.wait(lk, [&] { return slot.state == Slot::Ready && slot.generation == generation_ && slot.batch == d; });
  ++next_deliver_;
  if (slot.error) {
    slot.state = Slot::Free;
    work_cv_.notify_all();
    std::rethrow_exception(slot.error);
  }
  slot.state = Slot::Held;
  held_ = si;
  const int64_t epoch = epoch_;
  lk.unlock();

  const int64_t n = slot.count;
  const Device& dev = options_.device;
  batch.views.resize(slot.views.size());
  for (size_t v = 0; v < slot.views.size(); ++v)
    batch.views[v] = to_device_nonblocking(slot.views[v].narrow(0, 0, n), dev);
  batch.images = batch.views[0];
  batch.labels = to_device_nonblocking(slot.labels.narrow(0, 0, n), dev);
  batch.indices = to_device_nonblocking(slot.indices.narrow(0, 0, n), dev);
  slot.copied.record(dev);
  batch.epoch = epoch;
  batch.index = d;
  return true;
}

}  // namespace data
}  // namespace retort
