// Random fills and draws from a Generator.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

void uniform_(Tensor& t, float lo, float hi, Generator& gen) {
  RETORT_PROFILE_OP("uniform_");
  require_f32(t, "uniform_", "t");
  RETORT_CHECK(t.is_contiguous(), "uniform_: expected a contiguous tensor");
  RETORT_CHECK(lo < hi, "uniform_: expected lo < hi, found " << lo << " and " << hi);
  t.bump_version();
  const PhiloxState s = gen.reserve(t.numel());
  if (t.device().is_cpu()) return cpu::uniform(t.data<float>(), t.numel(), lo, hi, s);
#ifdef RETORT_WITH_CUDA
  cuda::uniform(t.data<float>(), t.numel(), lo, hi, s, t.device().index);
#endif
}

void normal_(Tensor& t, float mean, float std, Generator& gen) {
  RETORT_PROFILE_OP("normal_");
  require_f32(t, "normal_", "t");
  RETORT_CHECK(t.is_contiguous(), "normal_: expected a contiguous tensor");
  RETORT_CHECK(std >= 0.0f, "normal_: expected std >= 0, found " << std);
  t.bump_version();
  const PhiloxState s = gen.reserve(t.numel());
  if (t.device().is_cpu()) return cpu::normal(t.data<float>(), t.numel(), mean, std, s);
#ifdef RETORT_WITH_CUDA
  cuda::normal(t.data<float>(), t.numel(), mean, std, s, t.device().index);
#endif
}

Tensor rand(const Shape& shape, Generator& gen, const Device& device) {
  RETORT_PROFILE_OP("rand");
  Tensor t = empty(shape, DType::F32, device);
  uniform_(t, 0.0f, 1.0f, gen);
  return t;
}

Tensor randn(const Shape& shape, Generator& gen, const Device& device) {
  RETORT_PROFILE_OP("randn");
  Tensor t = empty(shape, DType::F32, device);
  normal_(t, 0.0f, 1.0f, gen);
  return t;
}

Tensor randint(const Shape& shape, int64_t high, Generator& gen, const Device& device) {
  RETORT_PROFILE_OP("randint");
  RETORT_CHECK(high >= 1, "randint: expected high >= 1, found " << high);
  Tensor t = empty(shape, DType::I64, device);
  const PhiloxState s = gen.reserve(t.numel());
  if (device.is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (t.numel() > 0) cuda::randint(t.data<int64_t>(), t.numel(), high, s, device.index);
#endif
  } else {
    cpu::randint(t.data<int64_t>(), t.numel(), high, s);
  }
  return t;
}

Tensor randperm(int64_t n, Generator& gen) {
  RETORT_PROFILE_OP("randperm");
  RETORT_CHECK(n >= 0, "randperm: expected n >= 0, found " << n);
  Tensor t = arange(n, DType::I64);
  int64_t* p = t.data<int64_t>();
  // Fisher-Yates from the last position down; draw i uses counter offset + i.
  const PhiloxState s = gen.reserve(static_cast<uint64_t>(n));
  for (int64_t i = n - 1; i > 0; --i) {
    const Philox4 r = philox_at(s, static_cast<uint64_t>(i));
    const uint64_t u = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
    std::swap(p[i], p[u % static_cast<uint64_t>(i + 1)]);
  }
  return t;
}

DropoutOutput dropout(const Tensor& x, float p, Generator& gen) {
  RETORT_PROFILE_OP("dropout");
  require_f32(x, "dropout", "x");
  RETORT_CHECK(p >= 0.0f && p < 1.0f, "dropout: expected 0 <= p < 1, found " << p);
  Tensor mask = empty(x.shape(), DType::F32, x.device());
  const PhiloxState s = gen.reserve(x.numel());
  if (x.device().is_cpu()) {
    cpu::dropout_mask(mask.data<float>(), x.numel(), p, s);
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::dropout_mask(mask.data<float>(), x.numel(), p, s, x.device().index);
#endif
  }
  return DropoutOutput{mul(x, mask), mask};
}

}  // namespace ops
}  // namespace retort
