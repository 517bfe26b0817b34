// Weight initialisers, driven by a seeded Generator (MODELS.md section 1.4).
// N(0, v) means variance v; U(a, b) uniform.
#pragma once
#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace retort {
namespace layers {

// Fan-in and fan-out of a conv [O, C/g, KH, KW] or linear [O, I] weight (PyTorch's rule).
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

// Kaiming normal, fan_out mode, ReLU gain: N(0, 2 / fan_out).
void kaiming_normal_fan_out(Tensor& w, Generator& gen);
// N(mean, std^2).
void normal_init(Tensor& w, float mean, float std, Generator& gen);
// PyTorch's default for Conv2d and Linear (kaiming_uniform with a = sqrt(5)):
// weight U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same bound (pass the weight's fan_in).
void default_weight_init(Tensor& w, Generator& gen);
void default_bias_init(Tensor& b, int64_t fan_in, Generator& gen);

}  // namespace layers
}  // namespace retort
