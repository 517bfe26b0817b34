#include "distill/fused.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "autograd/function_node.h"

namespace retort {
namespace distill {
namespace fused {

void check_logits(const char* method, const Tensor& student, const Tensor& teacher) {
  RETORT_CHECK(student.defined(), method << ": student logits are missing");
  RETORT_CHECK(teacher.defined(), method << ": teacher logits are missing");
  RETORT_CHECK(student.dtype() == DType::F32 && teacher.dtype() == DType::F32,
               method << ": expected f32 logits, found student " << dtype_name(student.dtype()) << " and teacher "
                      << dtype_name(teacher.dtype()));
  RETORT_CHECK(student.ndim() == 2, method << ": expected student logits [B, C], found " << student.shape());
  RETORT_CHECK(teacher.shape() == student.shape(),
               method << ": teacher logits " << teacher.shape() << " do not match student logits " << student.shape());
  RETORT_CHECK(student.size(0) >= 1 && student.size(1) >= 2,
               method << ": expected at least 1 sample and 2 classes, found logits " << student.shape());
}

std::vector<int64_t> host_labels(const char* method, const Tensor& labels, int64_t B, int64_t C) {
  RETORT_CHECK(labels.defined(), method << ": labels are required (i64 [" << B << "])");
  RETORT_CHECK(labels.dtype() == DType::I64, method << ": expected i64 labels, found " << dtype_name(labels.dtype()));
  RETORT_CHECK(labels.ndim() == 1 && labels.size(0) == B,
               method << ": expected labels [" << B << "] (one per row of the logits), found " << labels.shape());
  std::vector<int64_t> y = labels.to(Device::cpu()).to_vector<int64_t>();
  for (int64_t i = 0; i < B; ++i)
    RETORT_CHECK(y[i] >= 0 && y[i] < C,
                 method << ": label " << y[i] << " at position " << i << " is outside [0, " << C << ")");
  return y;
}

Matrix to_host(const Tensor& t) {
  RETORT_CHECK(t.dtype() == DType::F32 && t.ndim() == 2,
               "fused::to_host: expected a f32 matrix, found " << dtype_name(t.dtype()) << " " << t.shape());
  const Tensor c = t.to(Device::cpu()).contiguous();
  Matrix m(c.size(0), c.size(1));
  const float* src = c.data<float>();
  for (size_t i = 0; i < m.data.size(); ++i) m.data[i] = src[i];
  return m;
}

Tensor to_tensor(const Matrix& m, double scale, const Device& device) {
  Tensor t = empty(Shape{m.rows, m.cols}, DType::F32, Device::cpu());
  float* dst = t.data<float>();
  for (size_t i = 0; i < m.data.size(); ++i) dst[i] = static_cast<float>(scale * m.data[i]);
  return t.to(device);
}

namespace {

// p = softmax(z / T); returns log Σ_k exp(z_k / T), so log p_k = z_k / T − lse.
double softmax_lse(const double* z, int64_t n, double T, double* p) {
  const double inv_t = 1.0 / T;
  double mx = z[0] * inv_t;
  for (int64_t k = 1; k < n; ++k) mx = std::max(mx, z[k] * inv_t);
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) s += (p[k] = std::exp(z[k] * inv_t - mx));
  const double inv_s = 1.0 / s;
  for (int64_t k = 0; k < n; ++k) p[k] *= inv_s;
  return mx + std::log(s);
}

}  // namespace

void softmax_row(const double* z, int64_t n, double T, double* p) { softmax_lse(z, n, T, p); }

void log_softmax_row(const double* z, int64_t n, double T, double* logp, double* p) {
  const double inv_t = 1.0 / T;
  double mx = z[0] * inv_t;
  for (int64_t k = 1; k < n; ++k) mx = std::max(mx, z[k] * inv_t);
  // One exp per element: p comes from the same exponentials as the normaliser.
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double e = std::exp(z[k] * inv_t - mx);
    if (p != nullptr) p[k] = e;
    s += e;
  }
  const double lse = mx + std::log(s);
  for (int64_t k = 0; k < n; ++k) logp[k] = z[k] * inv_t - lse;
  if (p != nullptr) {
    const double inv_s = 1.0 / s;
    for (int64_t k = 0; k < n; ++k) p[k] *= inv_s;
  }
}

void softmax_row_backward(const double* p, const double* g, int64_t n, double T, double scale, double* dz) {
  double gp = 0.0;
  for (int64_t k = 0; k < n; ++k) gp += g[k] * p[k];
  const double f = scale / T;
  for (int64_t k = 0; k < n; ++k) dz[k] += f * p[k] * (g[k] - gp);
}

void softmax_rows(const Matrix& z, const std::vector<double>& T, Matrix& p) {
  RETORT_CHECK(static_cast<int64_t>(T.size()) == z.rows,
               "softmax_rows: expected " << z.rows << " row temperatures, found " << T.size());
  RETORT_CHECK(p.rows == z.rows && p.cols == z.cols, "softmax_rows: output " << p.rows << "x" << p.cols
                                                                           << " for logits " << z.rows << "x" << z.cols);
  for (int64_t i = 0; i < z.rows; ++i) {
    RETORT_CHECK(T[i] > 0, "softmax_rows: expected positive row temperatures, found " << T[i] << " at row " << i);
    softmax_row(z.row(i), z.cols, T[i], p.row(i));
  }
}

void softmax_rows_backward(const Matrix& p, const Matrix& g, const std::vector<double>& T, double scale, Matrix& dz) {
  for (int64_t i = 0; i < p.rows; ++i) softmax_row_backward(p.row(i), g.row(i), p.cols, T[i], scale, dz.row(i));
}

double cross_entropy_row(const double* z, int64_t n, int64_t y, double scale, double* dz, double* work) {
  // -log p_y = lse(z) - z_y; the gradient needs p itself.
  double mx = z[0];
  for (int64_t k = 1; k < n; ++k) mx = std::max(mx, z[k]);
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) s += (work[k] = std::exp(z[k] - mx));
  const double loss = mx + std::log(s) - z[y];
  if (dz != nullptr) {
    const double f = scale / s;
    for (int64_t k = 0; k < n; ++k) dz[k] += f * work[k];
    dz[y] -= scale;
  }
  return loss;
}

double kl_row(const double* u, const double* v, int64_t n, double T, double scale, double* dv, double* work) {
  double* p = work;
  double* q = work + n;
  const double lse_u = softmax_lse(u, n, T, p), lse_v = softmax_lse(v, n, T, q);
  const double inv_t = 1.0 / T, f = scale / T;
  double kl = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    // log p_k − log q_k without forming either; p_k = 0 (underflow) contributes exactly 0.
    if (p[k] > 0.0) kl += p[k] * ((u[k] - v[k]) * inv_t - lse_u + lse_v);
    if (dv != nullptr) dv[k] += f * (q[k] - p[k]);
  }
  return kl;
}

Cosine cosine(const double* a, const double* b, int64_t n, int64_t stride, double eps, bool absolute) {
  double d = 0.0, aa = 0.0, bb = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double x = a[k * stride], y = b[k * stride];
    d += x * y;
    aa += x * x;
    bb += y * y;
  }
  Cosine c;
  c.absolute = absolute;
  c.dot = d;
  c.norm_a = std::sqrt(aa);
  c.norm_b = std::sqrt(bb);
  c.denom = c.norm_a * c.norm_b + eps;  // ε on the product of the norms (§1.5)
  c.value = (absolute ? std::fabs(d) : d) / c.denom;
  return c;
}

void cosine_backward(const Cosine& c, const double* a, const double* b, int64_t n, int64_t stride, double scale,
                     double* ga) {
  const double s = c.absolute ? (c.dot > 0 ? 1.0 : (c.dot < 0 ? -1.0 : 0.0)) : 1.0;
  const double d = c.absolute ? std::fabs(c.dot) : c.dot;
  const double f1 = scale * s / c.denom;
  // d·‖b‖·a/(‖a‖·D²) tends to 0 with ‖a‖ (|d| <= ‖a‖‖b‖), so a zero vector drops it.
  const double f2 = c.norm_a > 0.0 ? scale * d * c.norm_b / (c.norm_a * c.denom * c.denom) : 0.0;
  for (int64_t k = 0; k < n; ++k) ga[k * stride] += f1 * b[k * stride] - f2 * a[k * stride];
}

std::vector<double> column_cosine(const Matrix& A, const Matrix& B, double eps, Matrix* dA, double scale) {
  const int64_t R = A.rows, C = A.cols;
  // Row-major accumulation of the per-column dot products and norms (one pass, contiguous reads).
  std::vector<double> d(C, 0.0), aa(C, 0.0), bb(C, 0.0);
  for (int64_t i = 0; i < R; ++i) {
    const double* a = A.row(i);
    const double* b = B.row(i);
    for (int64_t j = 0; j < C; ++j) {
      d[j] += a[j] * b[j];
      aa[j] += a[j] * a[j];
      bb[j] += b[j] * b[j];
    }
  }
  std::vector<double> value(C), f1(C), f2(C);
  for (int64_t j = 0; j < C; ++j) {
    const double na = std::sqrt(aa[j]), nb = std::sqrt(bb[j]);
    const double D = na * nb + eps;
    const double ad = std::fabs(d[j]);
    value[j] = ad / D;
    const double s = d[j] > 0 ? 1.0 : (d[j] < 0 ? -1.0 : 0.0);
    f1[j] = scale * s / D;
    f2[j] = na > 0.0 ? scale * ad * nb / (na * D * D) : 0.0;
  }
  if (dA != nullptr) {
    for (int64_t i = 0; i < R; ++i) {
      const double* a = A.row(i);
      const double* b = B.row(i);
      double* g = dA->row(i);
      for (int64_t j = 0; j < C; ++j) g[j] += f1[j] * b[j] - f2[j] * a[j];
    }
  }
  return value;
}

std::vector<double> row_cosine(const Matrix& A, const Matrix& B, double eps, Matrix* dA, double scale) {
  std::vector<double> value(A.rows);
  for (int64_t i = 0; i < A.rows; ++i) {
    const Cosine c = cosine(A.row(i), B.row(i), A.cols, 1, eps);
    value[i] = c.value;
    if (dA != nullptr) cosine_backward(c, A.row(i), B.row(i), A.cols, 1, scale, dA->row(i));
  }
  return value;
}

bool wants_grad(const std::vector<autograd::Variable>& students) { return autograd::needs_graph(students); }

autograd::Variable make_loss(const char* name, const std::vector<autograd::Variable>& inputs, double loss,
                             std::vector<Matrix> grads) {
  const Tensor value = scalar(static_cast<float>(loss), inputs.at(0).value().device());
  if (!wants_grad(inputs)) return autograd::Variable(value);
  RETORT_CHECK(grads.size() == inputs.size(),
               name << ": " << grads.size() << " gradients for " << inputs.size() << " inputs");
  std::vector<Device> devices;
  for (const autograd::Variable& v : inputs) devices.push_back(v.value().device());
  return autograd::record(name, inputs, value,
                          [grads = std::move(grads), devices](const autograd::Grads& g, const autograd::Node& node) {
                            // An undefined output gradient means zero.
                            const double scale = g.at(0).defined() ? g[0].to(Device::cpu()).item<float>() : 0.0;
                            autograd::Grads r(grads.size());
                            for (size_t k = 0; k < grads.size(); ++k)
                              if (node.needs_input_grad(static_cast<int>(k)))
                                r[k] = to_tensor(grads[k], scale, devices[k]);
                            return r;
                          });
}

}  // namespace fused
}  // namespace distill
}  // namespace retort
