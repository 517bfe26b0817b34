#include "distill/evaluate.h"

#include <cmath>

#include "autograd/functions.h"
#include "tensor/ops.h"

namespace retort {
namespace distill {

double EvalResult::class_accuracy(int64_t c) const {
  return class_count[c] == 0 ? NAN : 100.0 * static_cast<double>(class_correct[c]) / class_count[c];
}

void accumulate_accuracy(const Tensor& logits, const Tensor& labels, EvalResult& r, int64_t& top1, int64_t& topk,
                         int k) {
  const Tensor z = logits.to(Device::cpu()).contiguous();
  const Tensor y = labels.to(Device::cpu()).contiguous();
  const int64_t B = z.size(0), C = z.size(1);
  const float* zp = z.data<float>();
  const int64_t* yp = y.data<int64_t>();
  if (static_cast<int64_t>(r.class_count.size()) < C) {
    r.class_count.resize(C, 0);
    r.class_correct.resize(C, 0);
  }
  for (int64_t i = 0; i < B; ++i) {
    const float* row = zp + i * C;
    const int64_t label = yp[i];
    // The label's rank: how many classes score strictly higher, or equal with a lower index.
    int64_t rank = 0;
    for (int64_t c = 0; c < C; ++c)
      if (row[c] > row[label] || (row[c] == row[label] && c < label) || std::isnan(row[c])) ++rank;
    ++r.class_count[label];
    if (rank == 0) {
      ++top1;
      ++r.class_correct[label];
    }
    if (rank < k) ++topk;
  }
}

EvalResult evaluate(layers::Model& model, data::Loader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  autograd::NoGradGuard no_grad;
  EvalResult r;
  int64_t top1 = 0, top5 = 0;
  double loss_sum = 0.0;
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b)) {
    const Tensor logits = model(autograd::Variable(b.images)).value();
    loss_sum += ops::cross_entropy(logits, b.labels).to(Device::cpu()).item<float>() * b.size();
    accumulate_accuracy(logits, b.labels, r, top1, top5, 5);
    r.samples += b.size();
  }
  model.train(was_training);
  RETORT_CHECK(r.samples > 0, "evaluate: the data set is empty");
  r.loss = loss_sum / r.samples;
  r.top1 = 100.0 * top1 / r.samples;
  r.top5 = 100.0 * top5 / r.samples;
  return r;
}

}  // namespace distill
}  // namespace retort
