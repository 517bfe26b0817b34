#ifdef RETORT_WITH_DNNL
#include "tensor/cpu/conv_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
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
  std::string implementation;  // oneDNN's name for the kernel it chose
  bool reorder = false;
  dnnl::reorder reorder_primitive;
  memory weights;  // the kernel's layout; owned by oneDNN
  // Winograd kernels want blocked activations (nChw16c): the NHWC sides the
  // pass reads are reordered in and the side it writes is reordered out,
  // through the context's buffers.
  bool blocked = false;
  memory::desc kernel_src, kernel_dst;
  dnnl::reorder src_in, dst_in, src_out, dst_out;
  memory::desc scratchpad;  // the kernel's temporary memory, from the context's buffer
};

// A buffer of at least `bytes`, 64-byte aligned, grown on demand and kept.
class Buffer {
 public:
  void* get(size_t bytes) {
    if (bytes + 64 > size_) {  // the old contents are not needed: free first, no copy
      data_.reset();
      data_.reset(new char[bytes + 64]);
      size_ = bytes + 64;
    }
    const auto p = reinterpret_cast<uintptr_t>(data_.get());
    return data_.get() + ((64 - p % 64) % 64);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mutex;
  // nullptr: oneDNN has no kernel for this key; the built-in path runs.
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> cache;
  // Shared by every entry (the mutex serialises them): the blocked activations
  // of Winograd kernels, and every kernel's scratchpad (user mode), so the
  // temporary memory is that of the largest call, held once.
  Buffer blocked_src, blocked_dst, scratchpad;
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

// Winograd F(4x4, 3x3) does 2.25x fewer multiply-adds than a direct 3x3
// convolution. Measured forward at batch 64 on 2 threads, with the reorders
// it needs: 64 channels at 32x32 13.9 -> 9.3 ms, 128 and 256 channels 2x
// faster, 32 at 16x16 break-even; at 16 channels it is slower even without
// the reorders (1.52 vs 1.10 ms).
// oneDNN has it for AVX-512 only; elsewhere the direct kernel is built.
bool winograd_suits(const ConvGeom& g) {
  return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.PH == 1 && g.PW == 1 &&
         g.G == 1 && g.C >= 32 && g.O >= 32;
}

// The descriptors of one algorithm: NHWC activations for the direct kernels,
// "any" (the kernel's blocked layout) for Winograd.
struct Descs {
  dnnl::algorithm algorithm;
  memory::desc src, dst;
};

Descs descs(const ConvGeom& g, bool winograd) {
  if (!winograd) return {dnnl::algorithm::convolution_direct, activations(g, false), activations(g, true)};
  return {dnnl::algorithm::convolution_winograd, memory::desc({g.N, g.C, g.H, g.W}, DT::f32, Tag::any),
          memory::desc({g.N, g.O, g.OH, g.OW}, DT::f32, Tag::any)};
}

// Kernels take their scratchpad from us (run() passes the context's buffer).
dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvGeom& g, const Descs& a, bool bias,
                                                     const dnnl::engine& eng) {
  const memory::desc bias_md = bias ? memory::desc({g.O}, DT::f32, Tag::x) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, a.algorithm, a.src, any_weights(g), bias_md,
                                    a.dst, strides(g), dilates(g), padding(g), padding(g));
  return dnnl::convolution_forward::primitive_desc(d, user_scratchpad(), eng);
}

// Builds the primitive for `pass` with the given algorithm; nullptr when
// oneDNN has no kernel for it.
std::unique_ptr<Entry> build_with(Pass pass, const ConvGeom& g, bool bias, bool winograd, const dnnl::engine& eng) {
  auto e = std::make_unique<Entry>();
  const Descs a = descs(g, winograd);
  memory::desc kernel_weights;
  try {
    const auto fwd = forward_pd(g, a, bias, eng);
    if (pass == Pass::forward) {
      kernel_weights = fwd.weights_desc();
      e->kernel_src = fwd.src_desc();
      e->kernel_dst = fwd.dst_desc();
      e->implementation = fwd.impl_info_str();
      e->scratchpad = fwd.scratchpad_desc();
      e->primitive = dnnl::convolution_forward(fwd);
    } else if (pass == Pass::backward_input) {
      dnnl::convolution_backward_data::desc d(a.algorithm, a.src, any_weights(g), a.dst, strides(g), dilates(g),
                                              padding(g), padding(g));
      dnnl::convolution_backward_data::primitive_desc pd(d, user_scratchpad(), eng, fwd);
      kernel_weights = pd.weights_desc();
      e->kernel_src = pd.diff_src_desc();
      e->kernel_dst = pd.diff_dst_desc();
      e->implementation = pd.impl_info_str();
      e->scratchpad = pd.scratchpad_desc();
      e->primitive = dnnl::convolution_backward_data(pd);
    } else {
      dnnl::convolution_backward_weights::desc d(a.algorithm, a.src, any_weights(g), a.dst, strides(g), dilates(g),
                                                 padding(g), padding(g));
      dnnl::convolution_backward_weights::primitive_desc pd(d, user_scratchpad(), eng, fwd);
      kernel_weights = pd.diff_weights_desc();
      e->kernel_src = pd.src_desc();
      e->kernel_dst = pd.diff_dst_desc();
      e->implementation = pd.impl_info_str();
      e->scratchpad = pd.scratchpad_desc();
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
  const memory::desc nhwc_src = activations(g, false), nhwc_dst = activations(g, true);
  e->blocked = e->kernel_src != nhwc_src || e->kernel_dst != nhwc_dst;
  if (e->blocked) {
    const auto to = [&](const memory::desc& from, const memory::desc& into) {
      return dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, into));
    };
    if (pass != Pass::backward_input) e->src_in = to(nhwc_src, e->kernel_src);
    if (pass != Pass::forward) e->dst_in = to(nhwc_dst, e->kernel_dst);
    if (pass == Pass::forward) e->dst_out = to(e->kernel_dst, nhwc_dst);
    if (pass == Pass::backward_input) e->src_out = to(e->kernel_src, nhwc_src);
  }
  return e;
}

// Winograd where it suits and oneDNN has it, else the direct kernel.
std::unique_ptr<Entry> build(Pass pass, const ConvGeom& g, bool bias, const dnnl::engine& eng) {
  if (winograd_suits(g)) {
    if (auto e = build_with(pass, g, bias, true, eng)) return e;
  }
  return build_with(pass, g, bias, false, eng);
}

// The cached entry for the key, built on first use; the caller holds the mutex.
Entry* cached(Context& ctx, Pass pass, const ConvGeom& g, bool bias) {
  const auto key = cache_key(pass, g, bias);
  auto it = ctx.cache.find(key);
  if (it == ctx.cache.end()) it = ctx.cache.emplace(key, build(pass, g, bias, ctx.engine)).first;
  return it->second.get();
}

// Runs `pass`; false when oneDNN has no kernel for it. `src` is the input-side
// activation (x, or dx written by backward data), `dst` the output side (y, or
// dy read by both backward passes); `weights` is in PyTorch's layout, read by
// forward and backward data, written by backward weights.
bool run(Pass pass, const ConvGeom& g, const float* src, float* weights, const float* bias, float* dst) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  Entry* e = cached(ctx, pass, g, bias != nullptr);
  if (e == nullptr) return false;
  try {
    const dnnl::engine& eng = ctx.engine;
    memory user_w(user_weights(g), eng, weights);
    memory kernel_w = e->reorder ? e->weights : user_w;
    if (e->reorder && pass != Pass::backward_weight) e->reorder_primitive.execute(ctx.stream, user_w, kernel_w);
    memory in(activations(g, false), eng, const_cast<float*>(src));
    memory out(activations(g, true), eng, dst);
    memory kernel_in = in, kernel_out = out;
    if (e->blocked) {
      kernel_in = memory(e->kernel_src, eng, ctx.blocked_src.get(e->kernel_src.get_size()));
      kernel_out = memory(e->kernel_dst, eng, ctx.blocked_dst.get(e->kernel_dst.get_size()));
      if (pass != Pass::backward_input) e->src_in.execute(ctx.stream, in, kernel_in);
      if (pass != Pass::forward) e->dst_in.execute(ctx.stream, out, kernel_out);
    }
    std::unordered_map<int, memory> args;
    if (pass == Pass::forward) {
      args = {{DNNL_ARG_SRC, kernel_in}, {DNNL_ARG_WEIGHTS, kernel_w}, {DNNL_ARG_DST, kernel_out}};
      if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory({{g.O}, DT::f32, Tag::x}, eng, const_cast<float*>(bias)));
    } else if (pass == Pass::backward_input) {
      args = {{DNNL_ARG_DIFF_SRC, kernel_in}, {DNNL_ARG_WEIGHTS, kernel_w}, {DNNL_ARG_DIFF_DST, kernel_out}};
    } else {
      args = {{DNNL_ARG_SRC, kernel_in}, {DNNL_ARG_DIFF_WEIGHTS, kernel_w}, {DNNL_ARG_DIFF_DST, kernel_out}};
    }
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(e->scratchpad, eng, ctx.scratchpad.get(e->scratchpad.get_size())));
    e->primitive.execute(ctx.stream, args);
    if (e->blocked && pass == Pass::forward) e->dst_out.execute(ctx.stream, kernel_out, out);
    if (e->blocked && pass == Pass::backward_input) e->src_out.execute(ctx.stream, kernel_in, in);
    if (e->reorder && pass == Pass::backward_weight) e->reorder_primitive.execute(ctx.stream, kernel_w, user_w);
    ctx.stream.wait();
  } catch (const dnnl::error& err) {
    RETORT_FAIL("oneDNN " << pass_name(pass) << " failed for " << describe(g) << ": " << err.what());
  }
  return true;
}

}  // namespace

std::string kernel_name(Pass pass, const ConvGeom& g, bool bias) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  const Entry* e = cached(ctx, pass, g, bias);
  return e != nullptr ? e->implementation : std::string();
}

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

#else  // no oneDNN in this build: no kernel to name

#include "tensor/cpu/conv_onednn.h"

namespace retort {
namespace cpu {
namespace onednn {

std::string kernel_name(Pass, const ConvGeom&, bool) { return std::string(); }

}  // namespace onednn
}  // namespace cpu
}  // namespace retort
#endif  // RETORT_WITH_DNNL
