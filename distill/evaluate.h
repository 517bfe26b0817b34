// Evaluation of a classifier on a data set: mean cross-entropy, top-1 and
// top-5 accuracy (top-k with k capped at the class count), per-class accuracy.
// The model runs in evaluation mode without a graph; its mode is restored.
#pragma once
#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "layers/models/model.h"

namespace retort {
namespace distill {

struct EvalResult {
  int64_t samples = 0;
  double loss = 0.0;  // mean cross-entropy
  double top1 = 0.0;  // percent
  double top5 = 0.0;  // percent
  std::vector<int64_t> class_count, class_correct;  // per true class
  double class_accuracy(int64_t c) const;  // percent; NaN for a class with no samples
};

// Counts, for logits [B, C] (CPU) and labels [B], the samples whose label is
// the arg-max (ties: the lower index wins) and those whose label is among the
// top k; accumulates per-class top-1 into `r`.
void accumulate_accuracy(const Tensor& logits, const Tensor& labels, EvalResult& r, int64_t& top1, int64_t& topk,
                         int k);

// Evaluates over every batch of the loader's epoch 0 (use an unshuffled loader).
EvalResult evaluate(layers::Model& model, data::Loader& loader);

}  // namespace distill
}  // namespace retort
