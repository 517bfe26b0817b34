// Backward-pass KD (reconstruction): "Improved knowledge distillation by
// utilizing backward pass knowledge in neural networks" (Jafari et al., arXiv
// 2301.12006), reconstructed from the abstract, METHODS.md §9. No public
// implementation is known; report results as "backward-pass KD (reconstruction)".
//
// (a) Auxiliary samples: starting from the first n = round(fraction·B) rows of
//     the batch X (the loader shuffles, so they are a random subset), ascend
//     D(X') = Σ_i KL(softmax_T(t(X'_i)) ‖ softmax_T(s(X'_i)))   (or Σ‖t − s‖²)
//     with respect to the input through both networks, K times:
//     X'_k = X'_{k−1} + η·step(∇D), step ∈ {g/‖g‖ per sample, sign(g), g},
//     optionally clipped to a value range and/or an L∞ ball around X.
// (b) The loss, given the logits on X and on X'_K:
//     L = (1 − a)·CE(s(X), y) + a·T²·KL(t(X) ‖ s(X)) + a'·T²·KL(t(X') ‖ s(X'))
//         (+ aux_ce·CE(s(X'), y of the same rows))
#pragma once
#include <functional>
#include <vector>

#include "distill/objective.h"

namespace retort {
namespace distill {

enum class BpkdStep { Normalized = 0, Sign = 1, Raw = 2 };
enum class BpkdDivergence { KL = 0, SquaredL2 = 1 };

struct BpkdOptions {
  double T = 4.0;         // temperature of the divergence and of both KD terms
  double a = 0.9;         // KD weight on X (CE on X gets 1 − a)
  double a_aux = 0.9;     // KD weight on the auxiliary samples X'
  double aux_ce = 0.0;    // CE weight on X' with the labels of the rows they came from
  BpkdDivergence divergence = BpkdDivergence::KL;
  BpkdStep step = BpkdStep::Normalized;
  double eta = 0.5;       // step size (in normalised-input units)
  int steps = 1;          // K
  double fraction = 1.0;  // share of the batch perturbed (the first rows)
  bool clip_range = false;  // clamp X' to [clip_min, clip_max]
  double clip_min = -3.0, clip_max = 3.0;
  double ball_radius = 0.0;  // clamp X' to the L∞ ball of this radius around X; 0: none
};

BpkdOptions bpkd_options(const Options& options);

// A network as the generator sees it: input Variable -> logits [N, C]. Pass
// forwards in evaluation mode (no batch-norm statistics updates); the
// generator asks only for input gradients, never for parameter gradients.
using NetworkFn = std::function<autograd::Variable(const autograd::Variable&)>;

// D of logits u (teacher) and v (student) [N, C]: Σ_i KL_T (no T², summed over
// the rows) or Σ (u − v)²; fused, double precision, gradients for both inputs
// (∂D/∂u_k = p_k(log p_k − log q_k − KL)/T, ∂D/∂v_k = (q_k − p_k)/T for KL).
autograd::Variable bpkd_divergence(const autograd::Variable& teacher_logits, const autograd::Variable& student_logits,
                                   const BpkdOptions& options);

// D at x and ∇_x D through both networks (requires grad mode on).
struct BpkdGradient {
  Tensor grad;
  double divergence = 0;
};
BpkdGradient bpkd_input_gradient(const NetworkFn& student, const NetworkFn& teacher, const Tensor& x,
                                 const BpkdOptions& options);

// The auxiliary samples: X'_K for the first `count` rows of x (x.narrow(0, 0,
// count)), and D at each iterate X'_0 .. X'_{K−1} where a gradient was taken.
struct BpkdSamples {
  Tensor x;
  int64_t count = 0;
  std::vector<double> divergence;
};
BpkdSamples bpkd_aux_samples(const NetworkFn& student, const NetworkFn& teacher, const Tensor& x,
                             const BpkdOptions& options);

// The loss (b). student_aux/teacher_aux: logits on X'_K (n <= B rows, labels
// labels[0..n)); undefined when no auxiliary samples were made (fraction 0),
// which drops the auxiliary terms. Terms: "ce", "kd", "aux_kd", "aux_ce".
LossResult bpkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const autograd::Variable& student_aux, const Tensor& teacher_aux, const BpkdOptions& options,
                     int epoch);

// The objective reads student_aux/teacher_aux from StepInputs (needs().aux_samples).
MethodInfo bpkd_method();

}  // namespace distill
}  // namespace retort
