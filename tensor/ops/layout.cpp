// Concatenation, split, channel shuffle, padding and cropping.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

Tensor cat(const std::vector<Tensor>& xs, int dim) {
  RETORT_PROFILE_OP("cat");
  RETORT_CHECK(!xs.empty(), "cat: expected at least one tensor, found none");
  const Tensor& first = xs[0];
  require_defined(first, "cat", "xs[0]");
  const int a = first.shape().axis(dim);
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    require_defined(x, "cat", "an input");
    require_same_device(first, x, "cat");
    bool ok = x.dtype() == first.dtype() && x.ndim() == first.ndim();
    for (int d = 0; ok && d < x.ndim(); ++d) ok = d == a || x.shape()[d] == first.shape()[d];
    RETORT_CHECK(ok, "cat: expected every input shaped like " << first.shape() << " except along dimension " << a
                                                              << " and of dtype " << dtype_name(first.dtype())
                                                              << ", found input " << i << " " << x.shape() << " "
                                                              << dtype_name(x.dtype()));
    total += x.shape()[a];
  }
  Shape out = first.shape();
  out[a] = total;
  Tensor y = empty(out, first.dtype(), first.device());
  const int64_t outer = out.prod(0, a), inner = out.prod(a + 1, out.ndim());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const Tensor c = x.contiguous();
    if (y.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
      cuda::copy_slab(c.raw(), y.raw(), dtype_size(x.dtype()), outer, x.shape()[a], total, at, inner, true,
                      y.device().index);
#endif
    } else {
      cpu::copy_slab(c.raw(), y.raw(), dtype_size(x.dtype()), outer, x.shape()[a], total, at, inner, true);
    }
    at += x.shape()[a];
  }
  return y;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
  RETORT_PROFILE_OP("split");
  require_defined(x, "split", "x");
  const int a = x.shape().axis(dim);
  int64_t total = 0;
  for (int64_t s : sizes) {
    RETORT_CHECK(s >= 0, "split: expected sizes >= 0, found " << s);
    total += s;
  }
  RETORT_CHECK(total == x.shape()[a], "split: sizes sum to " << total << " but dimension " << a << " of "
                                                             << x.shape() << " has " << x.shape()[a]);
  const Tensor c = x.contiguous();
  const int64_t outer = x.shape().prod(0, a), inner = x.shape().prod(a + 1, x.ndim());
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[a] = s;
    Tensor piece = empty(shape, x.dtype(), x.device());
    if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
      cuda::copy_slab(piece.raw(), c.raw(), dtype_size(x.dtype()), outer, s, total, at, inner, false,
                      x.device().index);
#endif
    } else {
      cpu::copy_slab(piece.raw(), c.raw(), dtype_size(x.dtype()), outer, s, total, at, inner, false);
    }
    out.push_back(piece);
    at += s;
  }
  return out;
}

Tensor channel_shuffle(const Tensor& x, int64_t groups) {
  RETORT_PROFILE_OP("channel_shuffle");
  require_f32(x, "channel_shuffle", "x");
  RETORT_CHECK(x.ndim() >= 1, "channel_shuffle: expected x [..., C], found " << x.shape());
  const int64_t C = x.size(-1);
  RETORT_CHECK(groups >= 1 && C % groups == 0,
               "channel_shuffle: expected groups >= 1 dividing " << C << " channels, found " << groups);
  const Tensor c = x.contiguous();
  Tensor y = empty(x.shape(), DType::F32, x.device());
  const int64_t rows = C > 0 ? x.numel() / C : 0;
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (rows > 0) cuda::channel_shuffle(c.data<float>(), y.data<float>(), rows, C, groups, x.device().index);
#endif
  } else {
    cpu::channel_shuffle(c.data<float>(), y.data<float>(), rows, C, groups);
  }
  return y;
}

namespace {

// Views x ([H,W,C] or [N,H,W,C]) as [N,H,W,C].
Tensor as_nhwc(const Tensor& x, const char* op) {
  require_defined(x, op, "x");
  RETORT_CHECK(x.ndim() == 3 || x.ndim() == 4, op << ": expected [N, H, W, C] or [H, W, C], found " << x.shape());
  return x.ndim() == 4 ? x : x.reshape({1, x.size(0), x.size(1), x.size(2)});
}

}  // namespace

Tensor pad2d(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right, double value) {
  RETORT_PROFILE_OP("pad2d");
  const Tensor v = as_nhwc(x, "pad2d");
  RETORT_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
               "pad2d: expected padding >= 0, found (" << top << ", " << bottom << ", " << left << ", " << right
                                                      << ")");
  const int64_t N = v.size(0), H = v.size(1), W = v.size(2), C = v.size(3);
  Tensor y = full(Shape{N, H + top + bottom, W + left + right, C}, value, x.dtype(), x.device());
  Tensor window = y.narrow(1, top, H).narrow(2, left, W);
  copy_(window, v);
  return x.ndim() == 4 ? y : y.reshape({y.size(1), y.size(2), C});
}

Tensor crop2d(const Tensor& x, int64_t top, int64_t left, int64_t height, int64_t width) {
  RETORT_PROFILE_OP("crop2d");
  const Tensor v = as_nhwc(x, "crop2d");
  RETORT_CHECK(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= v.size(1) &&
                   left + width <= v.size(2),
               "crop2d: window (top " << top << ", left " << left << ", " << height << "x" << width
                                      << ") is outside the image " << x.shape());
  Tensor y = v.narrow(1, top, height).narrow(2, left, width).contiguous();
  return x.ndim() == 4 ? y : y.reshape({height, width, v.size(3)});
}

Tensor random_crop(const Tensor& x, int64_t height, int64_t width, int64_t padding, Generator& gen) {
  RETORT_PROFILE_OP("random_crop");
  require_defined(x, "random_crop", "x");
  require_rank(x, 4, "random_crop", "x");
  RETORT_CHECK(padding >= 0, "random_crop: expected padding >= 0, found " << padding);
  const int64_t N = x.size(0), H = x.size(1) + 2 * padding, W = x.size(2) + 2 * padding;
  RETORT_CHECK(height >= 1 && width >= 1 && height <= H && width <= W,
               "random_crop: window " << height << "x" << width << " does not fit the padded image " << H << "x" << W);
  const Tensor padded = pad2d(x, padding, padding, padding, padding, 0.0);
  Tensor y = empty(Shape{N, height, width, x.size(3)}, x.dtype(), x.device());
  for (int64_t n = 0; n < N; ++n) {
    const int64_t top = static_cast<int64_t>(gen.next_below(H - height + 1));
    const int64_t left = static_cast<int64_t>(gen.next_below(W - width + 1));
    Tensor dst = y.narrow(0, n, 1);
    copy_(dst, padded.narrow(0, n, 1).narrow(1, top, height).narrow(2, left, width));
  }
  return y;
}

}  // namespace ops
}  // namespace retort
