#include "optim/grad_check.h"

#include "tensor/ops.h"

namespace retort {
namespace optim {

NonFiniteGrads find_nonfinite_grads(const NamedParams& params) {
  NonFiniteGrads r;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& g = params[i].second.grad();
    if (g.defined() && ops::count_nonfinite(g) > 0) {
      ++r.count;
      r.origin = static_cast<int>(i);
    }
  }
  return r;
}

}  // namespace optim
}  // namespace retort
