// Optimiser update front ends.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {
void check_state(const Tensor& p, const Tensor& t, const char* op, const char* name) {
  require_f32(t, op, name);
  require_same_shape(p, t, op);
  require_same_device(p, t, op);
  RETORT_CHECK(t.is_contiguous(), op << ": expected a contiguous " << name);
}
}  // namespace

void sgd_update_(Tensor& p, const Tensor& g, Tensor& buf, const SgdParams& s) {
  RETORT_PROFILE_OP("sgd_update_");
  require_f32(p, "sgd_update_", "p");
  RETORT_CHECK(p.is_contiguous(), "sgd_update_: expected a contiguous parameter");
  check_state(p, g, "sgd_update_", "gradient");
  const bool momentum = s.momentum != 0.0f;
  if (momentum) check_state(p, buf, "sgd_update_", "momentum buffer");
  const Tensor cg = g.contiguous();
  p.bump_version();
  if (momentum) buf.bump_version();
  float* b = momentum ? buf.data<float>() : nullptr;
  if (p.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::sgd_update(p.data<float>(), cg.data<float>(), b, p.numel(), s, p.device().index);
#endif
  } else {
    cpu::sgd_update(p.data<float>(), cg.data<float>(), b, p.numel(), s);
  }
}

void adamw_update_(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWParams& s) {
  RETORT_PROFILE_OP("adamw_update_");
  require_f32(p, "adamw_update_", "p");
  RETORT_CHECK(p.is_contiguous(), "adamw_update_: expected a contiguous parameter");
  check_state(p, g, "adamw_update_", "gradient");
  check_state(p, m, "adamw_update_", "first moment");
  check_state(p, v, "adamw_update_", "second moment");
  p.bump_version();
  m.bump_version();
  v.bump_version();
  const Tensor cg = g.contiguous();
  if (p.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::adamw_update(p.data<float>(), cg.data<float>(), m.data<float>(), v.data<float>(), p.numel(), s,
                       p.device().index);
#endif
  } else {
    cpu::adamw_update(p.data<float>(), cg.data<float>(), m.data<float>(), v.data<float>(), p.numel(), s);
  }
}

}  // namespace ops
}  // namespace retort
