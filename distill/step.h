// One training step's forward pass: the teacher in evaluation mode without a
// graph, the student with one, and the objective over both. Two-view methods
// get the batch's strong view, mixup methods mixed inputs and both label
// vectors, backward-pass KD its auxiliary samples.
#pragma once
#include "autograd/variable.h"
#include "data/loader.h"
#include "distill/objective.h"
#include "layers/models/model.h"

namespace retort {
namespace distill {

struct StepContext {
  layers::Model& student;
  layers::Model* teacher;  // null for plain training
  Objective* objective;    // null for plain training (cross-entropy)
  Generator& rng;          // mixup and auxiliary-sample draws
  double label_smoothing;  // plain training
};

struct StepResult {
  LossResult loss;
  Tensor logits;  // the student's logits on the (first view of the) batch, for training accuracy
};

StepResult training_step(StepContext& ctx, const data::Batch& batch, int epoch);

// The teacher's logits for `images`: evaluation mode, no graph, no saved tensors.
Tensor teacher_logits(layers::Model& teacher, const Tensor& images);

}  // namespace distill
}  // namespace retort
