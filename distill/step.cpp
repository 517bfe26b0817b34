#include "distill/step.h"

#include "autograd/functions.h"

namespace retort {
namespace distill {

using autograd::Variable;

Tensor teacher_logits(layers::Model& teacher, const Tensor& images) {
  autograd::NoGradGuard no_grad;
  return teacher(Variable(images)).value();
}

StepResult training_step(StepContext& ctx, const data::Batch& batch, int epoch) {
  StepResult r;
  if (!ctx.objective) {
    const Variable logits = ctx.student(Variable(batch.images));
    const Variable ce = autograd::cross_entropy(logits, batch.labels, static_cast<float>(ctx.label_smoothing));
    r.loss.total = ce;
    r.loss.terms = {{"ce", ce.value().to(Device::cpu()).item<float>()}};
    r.logits = logits.value();
    return r;
  }
  const StepNeeds needs = ctx.objective->needs();
  RETORT_CHECK(ctx.teacher != nullptr, "training step: distillation needs a teacher");
  StepInputs in;
  in.epoch = epoch;
  in.labels = batch.labels;
  in.student = ctx.student(Variable(batch.images));
  in.teacher = teacher_logits(*ctx.teacher, batch.images);
  r.logits = in.student.value();
  if (needs.strong_view) {
    RETORT_CHECK(batch.views.size() >= 2, "training step: the method needs a strong view but the batch has one view");
    in.student_strong = ctx.student(Variable(batch.views[1]));
    in.teacher_strong = teacher_logits(*ctx.teacher, batch.views[1]);
  }
  RETORT_CHECK(!needs.mixup && !needs.aux_samples,
               "training step: mixup and auxiliary samples are wired in distill/step.cpp");
  r.loss = ctx.objective->compute(in);
  return r;
}

}  // namespace distill
}  // namespace retort
