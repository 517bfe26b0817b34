#ifdef RETORT_WITH_DNNL
#include "tensor/cpu/conv_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {
namespace onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DT = memory::data_type;

enum class Pass { forward, backward_input, backward_weight };

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::forward: return "convolution forward";
    case Pass::backward_input: return "convolution backward data";
    case Pass::backward_weight: return "convolution backward weights";
  }
  return "convolution";
}

std::string describe(const ConvGeom& g) {
  std::ostringstream os;
  os << "input [" << g.N << ", " << g.H << ", " << g.W << ", " << g.C << "] (NHWC), weight [" << g.O << ", " << g.Cg()
     << ", " << g.KH << ", " << g.KW << "], stride (" << g.SH << ", " << g.SW << "), padding (" << g.PH << ", " << g.PW
     << "), dilation (" << g.DH << ", " << g.DW << "), groups " << g.G;
  return os.str();
}

// The logical dims oneDNN wants are NCHW / OIHW whatever the memory layout.
memory::desc activations(const ConvGeom& g, bool output) {
  return output ? memory::desc({g.N, g.O, g.OH, g.OW}, DT::f32, Tag::nhwc)
                : memory::desc({g.N, g.C, g.H, g.W}, DT::f32, Tag::nhwc);
}

memory::dims weight_dims(const ConvGeom& g) {
  if (g.G == 1) return {g.O, g.C, g.KH, g.KW};
  return {g.G, g.Og(), g.Cg(), g.KH, g.KW};
}

memory::desc user_weights(const ConvGeom& g) {
  return memory::desc(weight_dims(g), DT::f32, g.G == 1 ? Tag::oihw : Tag::goihw);
}

memory::desc any_weights(const ConvGeom& g) { return memory::desc(weight_dims(g), DT::f32, Tag::any); }

// One cached primitive and, when its kernel wants another weight layout, the
// reorder and the buffer for it.
struct Entry {
  dnnl::primitive primitive;
  bool reorder = false;
  dnnl::reorder reorder_primitive;
  memory weights;  // the kernel's layout; owned by oneDNN
};

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mutex;
  // nullptr: oneDNN has no kernel for this key; the built-in path runs.
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> cache;
};

Context& context() {
  static Context* c = new Context();  // never destroyed: primitives may outlive static teardown order
  return *c;
}

std::vector<int64_t> cache_key(Pass pass, const ConvGeom& g, bool bias) {
  return {static_cast<int64_t>(pass), g.N, g.H, g.W, g.C, g.O, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.G,
          g.OH, g.OW, bias ? 1 : 0, num_threads()};
}

memory::dims strides(const ConvGeom& g) { return {g.SH, g.SW}; }
// oneDNN counts dilation from 0 (0 = dense), PyTorch from 1.
memory::dims dilates(const ConvGeom& g) { return {g.DH - 1, g.DW - 1}; }
// Symmetric padding: oneDNN's output extent (in + pl + pr - span) / stride + 1
// is PyTorch's floor formula.
memory::dims padding(const ConvGeom& g) { return {g.PH, g.PW}; }

dnnl::convolution_forward::primitive_desc forward_pd(const ConvGeom& g, bool bias, const dnnl::engine& eng) {
  const memory::desc bias_md = bias ? memory::desc({g.O}, DT::f32, Tag::x) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    activations(g, false), any_weights(g), bias_md, activations(g, true), strides(g),
                                    dilates(g), padding(g), padding(g));
  return dnnl::convolution_forward::primitive_desc(d, eng);
}

// Builds the primitive for `pass`; nullptr when oneDNN has no kernel for it.
std::unique_ptr<Entry> build(Pass pass, const ConvGeom& g, bool bias, const dnnl::engine& eng) {
  auto e = std::make_unique<Entry>();
  memory::desc kernel_weights;
  try {
    const auto fwd = forward_pd(g, bias, eng);
    if (pass == Pass::forward) {
      kernel_weights = fwd.weights_desc();
      e->primitive = dnnl::convolution_forward(fwd);
    } else if (pass == Pass::backward_input) {
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, activations(g, false),
                                              any_weights(g), activations(g, true), strides(g), dilates(g),
                                              padding(g), padding(g));
      dnnl::convolution_backward_data::primitive_desc pd(d, eng, fwd);
      kernel_weights = pd.weights_desc();
      e->primitive = dnnl::convolution_backward_data(pd);
    } else {
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, activations(g, false),
                                                 any_weights(g), activations(g, true), strides(g), dilates(g),
                                                 padding(g), padding(g));
      dnnl::convolution_backward_weights::primitive_desc pd(d, eng, fwd);
      kernel_weights = pd.diff_weights_desc();
      e->primitive = dnnl::convolution_backward_weights(pd);
    }
  } catch (const dnnl::error& err) {
    if (err.status == dnnl_unimplemented) return nullptr;
    RETORT_FAIL("oneDNN " << pass_name(pass) << " setup failed for " << describe(g) << ": " << err.what());
  }
  const memory::desc user = user_weights(g);
  e->reorder = kernel_weights != user;
  if (e->reorder) {
    e->weights = memory(kernel_weights, eng);
    if (pass == Pass::backward_weight) {
      e->reorder_primitive = dnnl::reorder(dnnl::reorder::primitive_desc(eng, kernel_weights, eng, user));
    } else {
      e->reorder_primitive = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, kernel_weights));
    }
  }
  return e;
}

// Runs `pass`; false when oneDNN has no kernel for it. `src` is the input-side
// activation (x, or dx written by backward data), `dst` the output side (y, or
// dy read by both backward passes); `weights` is in PyTorch's layout, read by
// forward and backward data, written by backward weights.
bool run(Pass pass, const ConvGeom& g, const float* src, float* weights, const float* bias, float* dst) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  const auto key = cache_key(pass, g, bias != nullptr);
  auto it = ctx.cache.find(key);
  if (it == ctx.cache.end()) it = ctx.cache.emplace(key, build(pass, g, bias != nullptr, ctx.engine)).first;
  Entry* e = it->second.get();
  if (e == nullptr) return false;
  try {
    const dnnl::engine& eng = ctx.engine;
    memory user_w(user_weights(g), eng, weights);
    memory kernel_w = e->reorder ? e->weights : user_w;
    if (e->reorder && pass != Pass::backward_weight) e->reorder_primitive.execute(ctx.stream, user_w, kernel_w);
    memory in(activations(g, false), eng, const_cast<float*>(src));
    memory out(activations(g, true), eng, dst);
    std::unordered_map<int, memory> args;
    if (pass == Pass::forward) {
      args = {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, kernel_w}, {DNNL_ARG_DST, out}};
      if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory({{g.O}, DT::f32, Tag::x}, eng, const_cast<float*>(bias)));
    } else if (pass == Pass::backward_input) {
      args = {{DNNL_ARG_DIFF_SRC, in}, {DNNL_ARG_WEIGHTS, kernel_w}, {DNNL_ARG_DIFF_DST, out}};
    } else {
      args = {{DNNL_ARG_SRC, in}, {DNNL_ARG_DIFF_WEIGHTS, kernel_w}, {DNNL_ARG_DIFF_DST, out}};
    }
    e->primitive.execute(ctx.stream, args);
    if (e->reorder && pass == Pass::backward_weight) e->reorder_primitive.execute(ctx.stream, kernel_w, user_w);
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    RETORT_FAIL("oneDNN " << pass_name(pass) << " failed for " << describe(g) << ": " << err.what());
  }
  return true;
}

}  // namespace

bool conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  return run(Pass::forward, g, x, const_cast<float*>(w), bias, y);
}

bool conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  return run(Pass::backward_input, g, dx, const_cast<float*>(w), nullptr, const_cast<float*>(dy));
}

bool conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  return run(Pass::backward_weight, g, x, dw, nullptr, const_cast<float*>(dy));
}

}  // namespace onednn
}  // namespace cpu
}  // namespace retort
#endif  // RETORT_WITH_DNNL
