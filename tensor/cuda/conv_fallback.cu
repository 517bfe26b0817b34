// The cuDNN-free convolution path (builds without cuDNN, and geometries cuDNN
// has no algorithm for within the workspace cap) and the weight layout
// kernels both paths use. Every kernel is a grid-stride loop over one shared
// body of tensor/kernels/conv.h; the GEMMs go through cuBLAS (cuda::gemm).
//
// im2col works on a run of images at once so each group is one GEMM with
// M = images * P rows; the run is sized so the column matrix stays under
// kColumnBudget floats.
#include <algorithm>

#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/conv.h"
#include "tensor/cuda/gemm.h"

namespace retort {
namespace cuda {

namespace {

#define RETORT_CONV_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

constexpr int64_t kColumnBudget = int64_t(1) << 25;  // 128 MiB of floats

__global__ void weight_to_ohwi_kernel(ConvGeom g, const float* w, float* wr, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) wr[i] = w[conv_weight_oihw_offset(g, i)];
}

__global__ void weight_from_ohwi_kernel(ConvGeom g, const float* wr, float* w, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) w[conv_weight_oihw_offset(g, i)] = wr[i];
}

__global__ void im2col_kernel(ConvGeom g, const float* x, int64_t group, float* col, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) col[i] = im2col_value(g, x, group, i);
}

__global__ void col2im_kernel(ConvGeom g, const float* col, int64_t group, float* dx, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) col2im_store(g, col, group, dx, i);
}

__global__ void depthwise_forward_kernel(ConvGeom g, const float* x, const float* w, float* y, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) y[i] = depthwise_forward_value(g, x, w, i);
}

__global__ void depthwise_backward_input_kernel(ConvGeom g, const float* dy, const float* w, float* dx, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) dx[i] = depthwise_backward_input_value(g, dy, w, i);
}

// One thread per weight element, each summing over the batch: few threads,
// but this is the fallback (cuDNN handles depthwise in cuDNN builds).
__global__ void depthwise_backward_weight_kernel(ConvGeom g, const float* dy, const float* x, float* dw, int64_t n) {
  RETORT_CONV_GRID_STRIDE(i, n) dw[i] = depthwise_backward_weight_value(g, dy, x, i);
}

// Images per im2col run.
int64_t images_per_run(const ConvGeom& g) {
  return std::max<int64_t>(1, std::min<int64_t>(g.N, kColumnBudget / std::max<int64_t>(1, g.P() * g.K())));
}

// The geometry of images [n0, n0 + count) (the bodies index from the first image of a run).
ConvGeom run_geom(const ConvGeom& g, int64_t count) {
  ConvGeom r = g;
  r.N = count;
  return r;
}

}  // namespace

void conv_weight_to_ohwi(const ConvGeom& g, const float* w, float* w_ohwi, int device) {
  const int64_t n = g.O * g.K();
  DeviceGuard guard(device);
  weight_to_ohwi_kernel<<<grid_for(n), 256, 0, stream(device)>>>(g, w, w_ohwi, n);
  RETORT_CUDA_LAUNCH_CHECK("weight_to_ohwi_kernel");
}

void conv_weight_from_ohwi(const ConvGeom& g, const float* w_ohwi, float* w, int device) {
  const int64_t n = g.O * g.K();
  DeviceGuard guard(device);
  weight_from_ohwi_kernel<<<grid_for(n), 256, 0, stream(device)>>>(g, w_ohwi, w, n);
  RETORT_CUDA_LAUNCH_CHECK("weight_from_ohwi_kernel");
}

void conv2d_forward_fallback(const ConvGeom& g, const float* x, const float* w, float* y, int device) {
  DeviceGuard guard(device);
  const cudaStream_t st = stream(device);
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C, out_img = P * g.O;
  if (conv_is_depthwise(g)) {
    const int64_t n = g.N * out_img;
    depthwise_forward_kernel<<<grid_for(n), 256, 0, st>>>(g, x, w, y, n);
    RETORT_CUDA_LAUNCH_CHECK("depthwise_forward_kernel");
    return;
  }
  if (g.is_pointwise()) {  // y [N*P, O] = x [N*P, C] * w[O, C]^T
    gemm({false, true, g.N * P, g.O, g.C, 1.0f, x, g.C, w, g.C, 0.0f, y, g.O}, device);
    return;
  }
  Workspace wr(device, g.O * K * sizeof(float));
  float* wrp = static_cast<float*>(wr.data());
  conv_weight_to_ohwi(g, w, wrp, device);
  const int64_t run = images_per_run(g);
  Workspace col(device, run * P * K * sizeof(float));
  float* colp = static_cast<float*>(col.data());
  for (int64_t n0 = 0; n0 < g.N; n0 += run) {
    const ConvGeom r = run_geom(g, std::min(run, g.N - n0));
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const int64_t n = r.N * P * K;
      im2col_kernel<<<grid_for(n), 256, 0, st>>>(r, x + n0 * in_img, grp, colp, n);
      RETORT_CUDA_LAUNCH_CHECK("im2col_kernel");
      // y rows of the run, columns of the group = col [rows, K] * wr_g [Og, K]^T
      gemm({false, true, r.N * P, Og, K, 1.0f, colp, K, wrp + grp * Og * K, K, 0.0f, y + n0 * out_img + grp * Og, g.O},
           device);
    }
  }
}

void conv2d_backward_input_fallback(const ConvGeom& g, const float* dy, const float* w, float* dx, int device) {
  DeviceGuard guard(device);
  const cudaStream_t st = stream(device);
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C, out_img = P * g.O;
  if (conv_is_depthwise(g)) {
    const int64_t n = g.N * in_img;
    depthwise_backward_input_kernel<<<grid_for(n), 256, 0, st>>>(g, dy, w, dx, n);
    RETORT_CUDA_LAUNCH_CHECK("depthwise_backward_input_kernel");
    return;
  }
  if (g.is_pointwise()) {  // dx [N*P, C] = dy [N*P, O] * w [O, C]
    gemm({false, false, g.N * P, g.C, g.O, 1.0f, dy, g.O, w, g.C, 0.0f, dx, g.C}, device);
    return;
  }
  Workspace wr(device, g.O * K * sizeof(float));
  float* wrp = static_cast<float*>(wr.data());
  conv_weight_to_ohwi(g, w, wrp, device);
  const int64_t run = images_per_run(g);
  Workspace col(device, run * P * K * sizeof(float));
  float* colp = static_cast<float*>(col.data());
  for (int64_t n0 = 0; n0 < g.N; n0 += run) {
    const ConvGeom r = run_geom(g, std::min(run, g.N - n0));
    for (int64_t grp = 0; grp < g.G; ++grp) {
      // col [rows, K] = dy_g [rows, Og] * wr_g [Og, K], then gathered into dx.
      gemm({false, false, r.N * P, K, Og, 1.0f, dy + n0 * out_img + grp * Og, g.O, wrp + grp * Og * K, K, 0.0f, colp,
            K},
           device);
      const int64_t n = r.N * g.H * g.W * g.Cg();
      col2im_kernel<<<grid_for(n), 256, 0, st>>>(r, colp, grp, dx + n0 * in_img, n);
      RETORT_CUDA_LAUNCH_CHECK("col2im_kernel");
    }
  }
}

void conv2d_backward_weight_fallback(const ConvGeom& g, const float* dy, const float* x, float* dw, int device) {
  DeviceGuard guard(device);
  const cudaStream_t st = stream(device);
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C, out_img = P * g.O;
  if (conv_is_depthwise(g)) {
    const int64_t n = g.C * g.KH * g.KW;
    depthwise_backward_weight_kernel<<<grid_for(n), 256, 0, st>>>(g, dy, x, dw, n);
    RETORT_CUDA_LAUNCH_CHECK("depthwise_backward_weight_kernel");
    return;
  }
  if (g.is_pointwise()) {  // dw [O, C] = dy [N*P, O]^T * x [N*P, C]
    gemm({true, false, g.O, g.C, g.N * P, 1.0f, dy, g.O, x, g.C, 0.0f, dw, g.C}, device);
    return;
  }
  Workspace dwr(device, g.O * K * sizeof(float));  // [O, K] in (kh, kw, c) order
  float* dwrp = static_cast<float*>(dwr.data());
  const int64_t run = images_per_run(g);
  Workspace col(device, run * P * K * sizeof(float));
  float* colp = static_cast<float*>(col.data());
  for (int64_t n0 = 0; n0 < g.N; n0 += run) {
    const ConvGeom r = run_geom(g, std::min(run, g.N - n0));
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const int64_t n = r.N * P * K;
      im2col_kernel<<<grid_for(n), 256, 0, st>>>(r, x + n0 * in_img, grp, colp, n);
      RETORT_CUDA_LAUNCH_CHECK("im2col_kernel");
      // dwr_g [Og, K] (+)= dy_g [rows, Og]^T * col [rows, K]; the first run overwrites.
      gemm({true, false, Og, K, r.N * P, 1.0f, dy + n0 * out_img + grp * Og, g.O, colp, K, n0 == 0 ? 0.0f : 1.0f,
            dwrp + grp * Og * K, K},
           device);
    }
  }
  conv_weight_from_ohwi(g, dwrp, dw, device);
}

}  // namespace cuda
}  // namespace retort
