// Building blocks of the fused distillation objectives (METHODS.md §1).
//
// A fused objective makes one pass over the logits that yields the loss and
// its gradient with respect to the student logits together, in double
// precision, and wraps the result in a single autograd node. The logits are
// small (B x C), so this runs on the CPU on host copies: a CUDA tensor is
// copied to the host, and the gradient is copied back to the student's device
// in backward. The gradient is computed in the forward pass (it costs about as
// much as the loss and needs the same intermediates) and backward only scales
// it by the incoming gradient, so nothing but the B x C gradient is saved.
//
// The pieces below (row softmax with a per-row temperature, row-wise KL, the
// cosine with its ε-exact gradient, cross-entropy) are shared by the fused
// objectives; every "add ... to dz" takes a scale so a caller can accumulate
// several weighted terms into one gradient buffer.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace distill {
namespace fused {

// A row-major matrix of doubles (a host copy of B x C logits, or a gradient).
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(int64_t r, int64_t c, double value = 0.0)
      : rows(r), cols(c), data(static_cast<size_t>(r * c), value) {}
  double* row(int64_t i) { return data.data() + i * cols; }
  const double* row(int64_t i) const { return data.data() + i * cols; }
  double& operator()(int64_t i, int64_t j) { return data[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return data[static_cast<size_t>(i * cols + j)]; }
};

// ---------------------------------------------------------------- inputs

// Requires f32 student and teacher logits of the same shape [B, C], B >= 1,
// C >= 2; `method` prefixes the message of the Error otherwise.
void check_logits(const char* method, const Tensor& student, const Tensor& teacher);
// Requires i64 labels [B] with values in [0, C); returns them on the host.
std::vector<int64_t> host_labels(const char* method, const Tensor& labels, int64_t B, int64_t C);
// A double host copy of a f32 2-D tensor on any device.
Matrix to_host(const Tensor& t);
// A f32 tensor of m's shape on `device`, holding scale * m.
Tensor to_tensor(const Matrix& m, double scale, const Device& device);

// ---------------------------------------------------------------- rows

// p = softmax(z / T) over n values (maximum subtracted first).
void softmax_row(const double* z, int64_t n, double T, double* p);
// logp = log_softmax(z / T); also fills p = softmax(z / T) when p != nullptr.
void log_softmax_row(const double* z, int64_t n, double T, double* logp, double* p = nullptr);
// Softmax backward (§1.2): dz_k += scale * (1/T) p_k (g_k - Σ_m g_m p_m).
void softmax_row_backward(const double* p, const double* g, int64_t n, double T, double scale, double* dz);

// -log softmax_1(z)_y; adds scale * (softmax_1(z) - onehot(y)) to dz when dz != nullptr.
// `work` holds n doubles.
double cross_entropy_row(const double* z, int64_t n, int64_t y, double scale, double* dz, double* work);

// KL(softmax_T(u) ‖ softmax_T(v)), teacher u first (§1.3; 0·log 0 = 0); adds
// scale * ∂KL/∂v = scale * (softmax_T(v) - softmax_T(u)) / T to dv when dv != nullptr.
// `work` holds 2n doubles.
double kl_row(const double* u, const double* v, int64_t n, double T, double scale, double* dv, double* work);

// P[i, :] = softmax(Z[i, :] / T_i): one temperature per row (T.size() == Z.rows, each > 0).
void softmax_rows(const Matrix& z, const std::vector<double>& T, Matrix& p);
// dZ[i, :] += scale · softmax backward of row i with temperature T_i, given P and G = ∂L/∂P.
void softmax_rows_backward(const Matrix& p, const Matrix& g, const std::vector<double>& T, double scale, Matrix& dz);

// ---------------------------------------------------------------- cosine (§1.5)

// cos_ε(a, b) = |a·b| / (‖a‖‖b‖ + ε) (or a·b / (...) when !absolute, for Pearson).
// Vectors are read with a stride, so columns of a row-major matrix work too.
struct Cosine {
  double value = 0, dot = 0, norm_a = 0, norm_b = 0, denom = 0;
  bool absolute = true;
};
Cosine cosine(const double* a, const double* b, int64_t n, int64_t stride, double eps, bool absolute = true);
// ga += scale * ∂c/∂a, ε exact: ∂c/∂a = s·b/D − |d|·‖b‖·a/(‖a‖·D²), s = sign(d) (1 when
// !absolute). The second term is taken as 0 when ‖a‖ = 0 (its limit).
void cosine_backward(const Cosine& c, const double* a, const double* b, int64_t n, int64_t stride, double scale,
                     double* ga);

// c_j = cos_ε(A[:, j], B[:, j]) for every column j, accumulated row by row;
// when dA != nullptr adds scale * ∂c_j/∂A[:, j] for every j.
std::vector<double> column_cosine(const Matrix& A, const Matrix& B, double eps, Matrix* dA, double scale);
// s_i = cos_ε(A[i, :], B[i, :]) for every row i; when dA != nullptr adds scale * ∂s_i/∂A[i, :].
std::vector<double> row_cosine(const Matrix& A, const Matrix& B, double eps, Matrix* dA, double scale);

// ---------------------------------------------------------------- the autograd node

// Whether an objective over these student logits has to produce gradients
// (grad mode on and some input requires a gradient).
bool wants_grad(const std::vector<autograd::Variable>& students);

// A scalar f32 Variable on inputs[0]'s device holding `loss`, recorded (when
// wants_grad) as one node whose backward returns g * grads[k] for input k,
// converted to f32 on input k's device; g is the incoming scalar gradient.
autograd::Variable make_loss(const char* name, const std::vector<autograd::Variable>& inputs, double loss,
                             std::vector<Matrix> grads);

}  // namespace fused
}  // namespace distill
}  // namespace retort
