// CUDA convolution entry points: cuDNN (legacy convolution API, which cuDNN 9
// still ships) when the build has it, else the cuDNN-free path of
// conv_fallback.cu.
//
// cuDNN contracts relied on:
// - Layouts: x, y, dx, dy are packed NHWC 4-d tensor descriptors
//   (CUDNN_TENSOR_NHWC, sizes passed as n, c, h, w). The filter uses the same
//   format, CUDNN_TENSOR_NHWC ([O, KH, KW, C/groups]), so retort's PyTorch
//   [O, C/groups, KH, KW] weight is transposed into a workspace first (and the
//   filter gradient transposed back). Matching activation and filter formats
//   is the combination every cuDNN forward/backward algorithm that takes NHWC
//   documents; those that do not support it (FFT, Winograd) report
//   CUDNN_STATUS_NOT_SUPPORTED in the heuristics' list and are skipped.
// - Groups: cudnnSetConvolutionGroupCount on the descriptor, filter channels
//   C/groups: one cuDNN call covers all groups (depthwise is G == C).
// - Algorithms: cudnnGet*Algorithm_v7 returns a ranked list; the first entry
//   with status CUDNN_STATUS_SUCCESS, a workspace within kWorkspaceCap and an
//   allowed math type is taken (deterministic entries first), its math type
//   set on the descriptor (as PyTorch does) and its workspace size queried
//   with cudnnGet*WorkspaceSize. The choice is cached under the complete key
//   (device, pass, every shape, stride, padding, dilation and group field,
//   dtype and the TF32 switch). No acceptable entry, or
//   CUDNN_STATUS_NOT_SUPPORTED from the heuristics: the fallback runs. So
//   does a chosen algorithm that reports CUDNN_STATUS_NOT_SUPPORTED when it
//   runs (remembered for the key), a workspace the device cannot hold (this
//   call only), and tensors over 2^31 - 1 elements (the legacy API's limit).
// - Math: CUDNN_FMA_MATH (plain FP32, no tensor cores) unless
//   cuda_allow_tf32(), then CUDNN_DEFAULT_MATH (TF32 allowed); entries with
//   CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION (FP32 rounded to FP16) never.
// - alpha/beta are host floats (float data); beta = 0, outputs overwritten.
// - Workspace from the caching allocator (cuda::Workspace), on the stream the
//   handle is bound to.
// - Alignment: the heuristics cannot see the pointers, so data not 16-byte
//   aligned (a view at an odd offset) takes the fallback rather than risking
//   an algorithm that assumes vector loads (PyTorch's cuDNN v8 path keys its
//   plans by the pointers' alignment for the same reason).
#include <array>
#include <cstdint>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/conv.h"
#include "tensor/device.h"

#ifdef RETORT_WITH_CUDNN
#include "tensor/cuda/descriptors.h"
#endif

namespace retort {
namespace cuda {

namespace {

// Handles empty outputs and empty reductions (which give zeros): true when
// nothing is left to compute.
bool trivial(float* out, int64_t out_n, int64_t in_a, int64_t in_b, int device) {
  if (out_n == 0) return true;
  if (in_a != 0 && in_b != 0) return false;
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemsetAsync(out, 0, out_n * sizeof(float), stream(device)));
  return true;
}

#ifdef RETORT_WITH_CUDNN

constexpr size_t kWorkspaceCap = size_t(1) << 30;  // 1 GiB

enum Pass : int64_t { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

const char* pass_name(Pass p) {
  return p == kForward ? "forward" : (p == kBackwardData ? "backward-data" : "backward-filter");
}

std::string describe(const ConvGeom& g, Pass pass) {
  std::ostringstream s;
  s << "conv2d " << pass_name(pass) << ": x [" << g.N << ", " << g.H << ", " << g.W << ", " << g.C << "], w [" << g.O
    << ", " << g.Cg() << ", " << g.KH << ", " << g.KW << "], y [" << g.N << ", " << g.OH << ", " << g.OW << ", "
    << g.O << "], groups " << g.G << ", stride (" << g.SH << ", " << g.SW << "), padding (" << g.PH << ", " << g.PW
    << "), dilation (" << g.DH << ", " << g.DW << ")";
  return s.str();
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

cudnnMathType_t requested_math(bool tf32) { return tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

bool math_allowed(cudnnMathType_t m, bool tf32) {
  return tf32 ? m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION : m == CUDNN_FMA_MATH;
}

struct Choice {
  bool found = false;
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  size_t workspace = 0;
};

using Key = std::array<int64_t, 18>;

Key make_key(const ConvGeom& g, Pass pass, bool tf32, int device) {
  return {device, pass, g.N, g.H, g.W, g.C, g.O, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.G,
          static_cast<int64_t>(CUDNN_DATA_FLOAT), tf32 ? 1 : 0};
}

std::mutex& cache_mutex() {
  static std::mutex mu;
  return mu;
}

std::map<Key, Choice>& cache() {
  static auto* c = new std::map<Key, Choice>();  // never destroyed, like the contexts
  return *c;
}

// False for CUDNN_STATUS_NOT_SUPPORTED (cuDNN refuses the geometry or the
// algorithm: try the next, or the fallback); throws for any other failure.
bool supported(cudnnStatus_t st, const char* call, const std::string& what) {
  if (st == CUDNN_STATUS_NOT_SUPPORTED) return false;
  RETORT_CHECK(st == CUDNN_STATUS_SUCCESS, "cuDNN call " << call << " failed with " << cudnnGetErrorString(st)
                                                         << " for " << what);
  return true;
}

// Walks cuDNN's ranked list (deterministic entries first) and takes the first
// with status CUDNN_STATUS_SUCCESS, an allowed math type and a workspace
// within the cap; the workspace is queried again with the entry's math type
// set on the descriptor, since the algorithm and the math type together pick
// the kernels. workspace_size(algo, &bytes) returns the cuDNN status.
template <class Perf, class WorkspaceSize>
Choice pick(const std::vector<Perf>& perfs, int count, bool tf32, ConvolutionDescriptor& conv,
            const WorkspaceSize& workspace_size, const std::string& what) {
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < count; ++i) {
      const Perf& p = perfs[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kWorkspaceCap || !math_allowed(p.mathType, tf32)) continue;
      if ((round == 0) != (p.determinism == CUDNN_DETERMINISTIC)) continue;
      conv.set_math(p.mathType);
      size_t bytes = 0;
      if (!supported(workspace_size(p.algo, &bytes), "cudnnGet*WorkspaceSize",
                     what + ", algorithm " + std::to_string(static_cast<int>(p.algo))) ||
          bytes > kWorkspaceCap)
        continue;
      Choice c;
      c.found = true;
      c.algo = static_cast<int>(p.algo);
      c.math = p.mathType;
      c.workspace = bytes;
      return c;
    }
  return Choice{};
}

// Descriptors of one convolution, checked against retort's output size.
struct Descriptors {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;
  Descriptors(const ConvGeom& g, bool tf32, const std::string& what)
      : x(g.N, g.H, g.W, g.C), y(g.N, g.OH, g.OW, g.O), w(g), conv(g, requested_math(tf32)) {
    int n = 0, c = 0, h = 0, wd = 0;
    RETORT_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv.get(), x.get(), w.get(), &n, &c, &h, &wd), what);
    RETORT_CHECK(n == g.N && c == g.O && h == g.OH && wd == g.OW,
                 what << ": cuDNN computes the output as [" << n << ", " << h << ", " << wd << ", " << c
                      << "], retort as [" << g.N << ", " << g.OH << ", " << g.OW << ", " << g.O << "]");
  }
};

// The cached choice for the key, or `choose()` stored under it.
template <class Choose> Choice cached_choice(const Key& key, const Choose& choose) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  const Choice c = choose();
  std::lock_guard<std::mutex> lock(cache_mutex());
  cache()[key] = c;
  return c;
}

// cuDNN's legacy API takes tensors of at most 2^31 - 1 elements; larger ones
// take the fallback.
bool fits_cudnn(const ConvGeom& g) {
  const int64_t limit = INT_MAX;
  return g.N * g.H * g.W * g.C <= limit && g.N * g.P() * g.O <= limit && g.O * g.K() <= limit;
}

// The status of running the chosen algorithm. The _v7 heuristics may rank an
// algorithm that then reports CUDNN_STATUS_NOT_SUPPORTED for these tensors:
// the key is remembered as having no cuDNN algorithm (false: the fallback
// runs, now and from then on). Any other failure throws.
bool ran(cudnnStatus_t st, const Key& key, const std::string& what) {
  if (st == CUDNN_STATUS_NOT_SUPPORTED) {
    std::lock_guard<std::mutex> lock(cache_mutex());
    cache()[key] = Choice{};
    return false;
  }
  RETORT_CHECK(st == CUDNN_STATUS_SUCCESS, "cuDNN call failed with " << cudnnGetErrorString(st) << " for " << what);
  return true;
}

// The algorithm's workspace, or null when the device has no room for it even
// after the cache is emptied (the fallback runs this call instead).
std::unique_ptr<Workspace> try_workspace(int device, size_t bytes) {
  try {
    return std::make_unique<Workspace>(device, bytes);
  } catch (const Error&) {
    return nullptr;
  }
}

// The weight in cuDNN's filter layout [O, KH, KW, Cg], in a workspace.
struct OhwiWeight {
  Workspace buffer;
  OhwiWeight(const ConvGeom& g, int device) : buffer(device, g.O * g.K() * sizeof(float)) {}
  float* data() const { return static_cast<float*>(buffer.data()); }
};

bool cudnn_forward(const ConvGeom& g, const float* x, const float* w, float* y, int device) {
  if (!aligned16(x) || !aligned16(y) || !fits_cudnn(g)) return false;
  DeviceGuard guard(device);
  const cudnnHandle_t handle = context(device).cudnn;
  const bool tf32 = cuda_allow_tf32();
  const std::string what = describe(g, kForward);
  Descriptors d(g, tf32, what);
  const Key key = make_key(g, kForward, tf32, device);
  const Choice c = cached_choice(key, [&] {
    int max = 0, count = 0;
    RETORT_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &max), what);
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(max);
    if (!supported(cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), max,
                                                          &count, perfs.data()),
                   "cudnnGetConvolutionForwardAlgorithm_v7", what))
      return Choice{};
    return pick(perfs, count, tf32, d.conv,
                [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
                  return cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), d.conv.get(),
                                                                 d.y.get(), algo, bytes);
                },
                what);
  });
  if (!c.found) return false;
  d.conv.set_math(c.math);
  OhwiWeight wr(g, device);
  conv_weight_to_ohwi(g, w, wr.data(), device);
  const std::unique_ptr<Workspace> ws = try_workspace(device, c.workspace);
  if (!ws) return false;
  const float alpha = 1.0f, beta = 0.0f;
  return ran(cudnnConvolutionForward(handle, &alpha, d.x.get(), x, d.w.get(), wr.data(), d.conv.get(),
                                     cudnnConvolutionFwdAlgo_t(c.algo), ws->data(), ws->size(), &beta, d.y.get(), y),
             key, what + ", cudnnConvolutionForward algorithm " + std::to_string(c.algo));
}

bool cudnn_backward_data(const ConvGeom& g, const float* dy, const float* w, float* dx, int device) {
  if (!aligned16(dy) || !aligned16(dx) || !fits_cudnn(g)) return false;
  DeviceGuard guard(device);
  const cudnnHandle_t handle = context(device).cudnn;
  const bool tf32 = cuda_allow_tf32();
  const std::string what = describe(g, kBackwardData);
  Descriptors d(g, tf32, what);
  const Key key = make_key(g, kBackwardData, tf32, device);
  const Choice c = cached_choice(key, [&] {
    int max = 0, count = 0;
    RETORT_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &max), what);
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(max);
    if (!supported(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                               max, &count, perfs.data()),
                   "cudnnGetConvolutionBackwardDataAlgorithm_v7", what))
      return Choice{};
    return pick(perfs, count, tf32, d.conv,
                [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
                  return cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w.get(), d.y.get(), d.conv.get(),
                                                                      d.x.get(), algo, bytes);
                },
                what);
  });
  if (!c.found) return false;
  d.conv.set_math(c.math);
  OhwiWeight wr(g, device);
  conv_weight_to_ohwi(g, w, wr.data(), device);
  const std::unique_ptr<Workspace> ws = try_workspace(device, c.workspace);
  if (!ws) return false;
  const float alpha = 1.0f, beta = 0.0f;
  return ran(cudnnConvolutionBackwardData(handle, &alpha, d.w.get(), wr.data(), d.y.get(), dy, d.conv.get(),
                                          cudnnConvolutionBwdDataAlgo_t(c.algo), ws->data(), ws->size(), &beta,
                                          d.x.get(), dx),
             key, what + ", cudnnConvolutionBackwardData algorithm " + std::to_string(c.algo));
}

bool cudnn_backward_filter(const ConvGeom& g, const float* dy, const float* x, float* dw, int device) {
  if (!aligned16(dy) || !aligned16(x) || !fits_cudnn(g)) return false;
  DeviceGuard guard(device);
  const cudnnHandle_t handle = context(device).cudnn;
  const bool tf32 = cuda_allow_tf32();
  const std::string what = describe(g, kBackwardFilter);
  Descriptors d(g, tf32, what);
  const Key key = make_key(g, kBackwardFilter, tf32, device);
  const Choice c = cached_choice(key, [&] {
    int max = 0, count = 0;
    RETORT_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &max), what);
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(max);
    if (!supported(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.x.get(), d.y.get(), d.conv.get(),
                                                                 d.w.get(), max, &count, perfs.data()),
                   "cudnnGetConvolutionBackwardFilterAlgorithm_v7", what))
      return Choice{};
    return pick(perfs, count, tf32, d.conv,
                [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
                  return cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.x.get(), d.y.get(), d.conv.get(),
                                                                        d.w.get(), algo, bytes);
                },
                what);
  });
  if (!c.found) return false;
  d.conv.set_math(c.math);
  OhwiWeight dwr(g, device);  // the gradient in the filter layout, transposed back below
  const std::unique_ptr<Workspace> ws = try_workspace(device, c.workspace);
  if (!ws) return false;
  const float alpha = 1.0f, beta = 0.0f;
  if (!ran(cudnnConvolutionBackwardFilter(handle, &alpha, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                          cudnnConvolutionBwdFilterAlgo_t(c.algo), ws->data(), ws->size(), &beta,
                                          d.w.get(), dwr.data()),
           key, what + ", cudnnConvolutionBackwardFilter algorithm " + std::to_string(c.algo)))
    return false;
  conv_weight_from_ohwi(g, dwr.data(), dw, device);
  return true;
}

#endif  // RETORT_WITH_CUDNN

}  // namespace

void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y, int device) {
  if (trivial(y, g.N * g.P() * g.O, g.N * g.H * g.W * g.C, g.O * g.K(), device)) return;
#ifdef RETORT_WITH_CUDNN
  if (cudnn_forward(g, x, w, y, device)) return;
#endif
  conv2d_forward_fallback(g, x, w, y, device);
}

void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx, int device) {
  if (trivial(dx, g.N * g.H * g.W * g.C, g.N * g.P() * g.O, g.O * g.K(), device)) return;
#ifdef RETORT_WITH_CUDNN
  if (cudnn_backward_data(g, dy, w, dx, device)) return;
#endif
  conv2d_backward_input_fallback(g, dy, w, dx, device);
}

void conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw, int device) {
  if (trivial(dw, g.O * g.K(), g.N * g.P() * g.O, g.N * g.H * g.W * g.C, device)) return;
#ifdef RETORT_WITH_CUDNN
  if (cudnn_backward_filter(g, dy, x, dw, device)) return;
#endif
  conv2d_backward_weight_fallback(g, dy, x, dw, device);
}

}  // namespace cuda
}  // namespace retort
