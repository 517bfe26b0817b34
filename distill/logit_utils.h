// Small helpers shared by the part-B objectives (DKD, DIST, DTKD, CTKD, CMKD,
// STKD, backward-pass KD) beyond the fused building blocks of distill/fused.h:
// the warm-up factor, constants for the composed (autograd) versions, and the
// reading of integer and flag options (options arrive as doubles).
#pragma once
#include <cstdint>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace distill {

// min(epoch / warmup, 1), epochs counted from 1; warmup <= 0 means no warm-up.
double warmup_factor(const char* method, int epoch, double warmup);

// Σ p log p over all elements with 0 log 0 = 0, in double: the constant teacher
// half of a KL term in the composed versions. Shape [], f32, on p's device.
Tensor xlogx_sum(const Tensor& p);
// One-hot rows of the labels, f32 [B, C] on `device`.
Tensor one_hot(const Tensor& labels, int64_t classes, const Device& device);
// The value of a one-element variable, for the named terms.
double item(const autograd::Variable& v);

// A flag option: exactly 0 or 1. An integer option in [min_value, max_value].
bool option_flag(const char* method, const char* name, double value);
int option_int(const char* method, const char* name, double value, int min_value, int max_value);

}  // namespace distill
}  // namespace retort
