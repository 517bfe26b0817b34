// Element-wise math, written once for both backends as trivially copyable
// functors. NaN propagates the way PyTorch's does (relu(NaN) = NaN,
// maximum(x, NaN) = NaN).
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

enum class UnaryOp : uint8_t {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Relu, Relu6, Sigmoid, Tanh, Square, Reciprocal,
  AddScalar,  // x + a
  MulScalar,  // x * a
  PowScalar,  // x ^ a
  Clamp,      // min(max(x, a), b)
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Maximum, Minimum,
  // Backward helpers, (dy, saved) -> dx:
  ReluBackward,     // saved = relu output: dy where y > 0
  Relu6Backward,    // saved = input: dy where 0 < x < 6
  SigmoidBackward,  // saved = output: dy * y * (1 - y)
  TanhBackward,     // saved = output: dy * (1 - y^2)
  // Fused, same shapes only:
  AddRelu,  // relu(a + b): a residual sum and its ReLU in one pass
};

namespace fn {

struct Neg { RETORT_HD float operator()(float x) const { return -x; } };
struct Exp { RETORT_HD float operator()(float x) const { return expf(x); } };
struct Log { RETORT_HD float operator()(float x) const { return logf(x); } };
struct Sqrt { RETORT_HD float operator()(float x) const { return sqrtf(x); } };
struct Rsqrt { RETORT_HD float operator()(float x) const { return 1.0f / sqrtf(x); } };
struct Abs { RETORT_HD float operator()(float x) const { return fabsf(x); } };
struct Sign {
  RETORT_HD float operator()(float x) const { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }
};
struct Relu { RETORT_HD float operator()(float x) const { return x < 0.0f ? 0.0f : x; } };
struct Relu6 {
  RETORT_HD float operator()(float x) const { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }
};
struct Sigmoid { RETORT_HD float operator()(float x) const { return 1.0f / (1.0f + expf(-x)); } };
struct Tanh { RETORT_HD float operator()(float x) const { return tanhf(x); } };
struct Square { RETORT_HD float operator()(float x) const { return x * x; } };
struct Reciprocal { RETORT_HD float operator()(float x) const { return 1.0f / x; } };
struct AddScalar { float a; RETORT_HD float operator()(float x) const { return x + a; } };
struct MulScalar { float a; RETORT_HD float operator()(float x) const { return x * a; } };
struct PowScalar { float a; RETORT_HD float operator()(float x) const { return powf(x, a); } };
struct Clamp {
  float lo, hi;
  RETORT_HD float operator()(float x) const { return x < lo ? lo : (x > hi ? hi : x); }
};

struct Add { RETORT_HD float operator()(float a, float b) const { return a + b; } };
struct Sub { RETORT_HD float operator()(float a, float b) const { return a - b; } };
struct Mul { RETORT_HD float operator()(float a, float b) const { return a * b; } };
struct Div { RETORT_HD float operator()(float a, float b) const { return a / b; } };
struct Maximum {
  RETORT_HD float operator()(float a, float b) const { return (a > b || a != a) ? a : b; }
};
struct Minimum {
  RETORT_HD float operator()(float a, float b) const { return (a < b || a != a) ? a : b; }
};
// The bits of Relu after Add: the same two float operations.
struct AddRelu { RETORT_HD float operator()(float a, float b) const { return Relu{}(a + b); } };
struct ReluBackward {
  RETORT_HD float operator()(float dy, float y) const { return y <= 0.0f ? 0.0f : dy; }
};
struct Relu6Backward {
  RETORT_HD float operator()(float dy, float x) const { return (x <= 0.0f || x >= 6.0f) ? 0.0f : dy; }
};
struct SigmoidBackward {
  RETORT_HD float operator()(float dy, float y) const { return dy * y * (1.0f - y); }
};
struct TanhBackward {
  RETORT_HD float operator()(float dy, float y) const { return dy * (1.0f - y * y); }
};

}  // namespace fn

// Calls visit(functor) with the functor of `op`; a, b are its scalar arguments.
template <class Visit>
void visit_unary(UnaryOp op, float a, float b, Visit&& visit) {
  switch (op) {
    case UnaryOp::Neg: return visit(fn::Neg{});
    case UnaryOp::Exp: return visit(fn::Exp{});
    case UnaryOp::Log: return visit(fn::Log{});
    case UnaryOp::Sqrt: return visit(fn::Sqrt{});
    case UnaryOp::Rsqrt: return visit(fn::Rsqrt{});
    case UnaryOp::Abs: return visit(fn::Abs{});
    case UnaryOp::Sign: return visit(fn::Sign{});
    case UnaryOp::Relu: return visit(fn::Relu{});
    case UnaryOp::Relu6: return visit(fn::Relu6{});
    case UnaryOp::Sigmoid: return visit(fn::Sigmoid{});
    case UnaryOp::Tanh: return visit(fn::Tanh{});
    case UnaryOp::Square: return visit(fn::Square{});
    case UnaryOp::Reciprocal: return visit(fn::Reciprocal{});
    case UnaryOp::AddScalar: return visit(fn::AddScalar{a});
    case UnaryOp::MulScalar: return visit(fn::MulScalar{a});
    case UnaryOp::PowScalar: return visit(fn::PowScalar{a});
    case UnaryOp::Clamp: return visit(fn::Clamp{a, b});
  }
}

template <class Visit>
void visit_binary(BinaryOp op, Visit&& visit) {
  switch (op) {
    case BinaryOp::Add: return visit(fn::Add{});
    case BinaryOp::Sub: return visit(fn::Sub{});
    case BinaryOp::Mul: return visit(fn::Mul{});
    case BinaryOp::Div: return visit(fn::Div{});
    case BinaryOp::Maximum: return visit(fn::Maximum{});
    case BinaryOp::Minimum: return visit(fn::Minimum{});
    case BinaryOp::ReluBackward: return visit(fn::ReluBackward{});
    case BinaryOp::Relu6Backward: return visit(fn::Relu6Backward{});
    case BinaryOp::SigmoidBackward: return visit(fn::SigmoidBackward{});
    case BinaryOp::TanhBackward: return visit(fn::TanhBackward{});
    case BinaryOp::AddRelu: return visit(fn::AddRelu{});
  }
}

const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);

}  // namespace retort
