// The backward engine: accumulation, shared inputs, grad mode, retained
// graphs, input gradients and the in-place version check.
#include <gtest/gtest.h>

#include "autograd/engine.h"
#include "autograd/function_node.h"
#include "autograd/functions.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
namespace ag = autograd;

Variable leaf(std::vector<float> v, bool requires_grad = true) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Variable(from_vector<float>(v, Shape{n}), requires_grad);
}

TEST(Engine, ChainRuleByHand) {
  // L = sum(x * x * y): dL/dx = 2xy, dL/dy = x^2.
  Variable x = leaf({1, 2, 3}), y = leaf({4, 5, 6});
  Variable loss = ag::sum(ag::mul(ag::mul(x, x), y));
  EXPECT_FLOAT_EQ(loss.value().item<float>(), 1 * 4 + 4 * 5 + 9 * 6);
  loss.backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{8, 20, 36}, 0, 0);
  EXPECT_CLOSE(y.grad(), std::vector<double>{1, 4, 9}, 0, 0);
}

TEST(Engine, SharedInputsAccumulate) {
  // x feeds three paths: L = sum(x) + sum(2x) + sum(exp(x)) -> dL/dx = 3 + e^x.
  Variable x = leaf({0, 1});
  Variable loss = ag::add(ag::add(ag::sum(x), ag::sum(ag::mul_scalar(x, 2.0f))), ag::sum(ag::exp(x)));
  loss.backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{4.0, 3.0 + std::exp(1.0)}, 1e-6, 1e-6);
}

TEST(Engine, DiamondGraphRunsEachNodeOnce) {
  // h = 2x is shared by two consumers; dL/dx = 2 * (1 + 3).
  Variable x = leaf({1});
  Variable h = ag::mul_scalar(x, 2.0f);
  Variable loss = ag::add(ag::sum(h), ag::sum(ag::mul_scalar(h, 3.0f)));
  loss.backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{8}, 0, 0);
}

TEST(Engine, GradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Variable x = leaf({1, 2});
  ag::sum(ag::mul_scalar(x, 3.0f)).backward();
  ag::sum(ag::mul_scalar(x, 3.0f)).backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{6, 6}, 0, 0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, NoGradRecordsNothing) {
  Variable x = leaf({1, 2});
  Variable y;
  {
    ag::NoGradGuard guard;
    y = ag::mul(x, x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_TRUE(ag::grad_enabled());
  EXPECT_THROW(ag::sum(y).backward(), Error);
}

TEST(Engine, InputsWithoutRequiresGradGetNothing) {
  Variable x = leaf({1, 2}), c = leaf({3, 4}, false);
  ag::sum(ag::mul(x, c)).backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{3, 4}, 0, 0);
  EXPECT_FALSE(c.grad().defined());
}

TEST(Engine, GraphIsFreedAfterBackwardUnlessRetained) {
  Variable x = leaf({1, 2});
  Variable loss = ag::sum(ag::mul(x, x));
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();  // second pass through the retained graph
  EXPECT_CLOSE(x.grad(), std::vector<double>{4, 8}, 0, 0);
  EXPECT_THROW(loss.backward(), Error);  // freed now
}

TEST(Engine, InPlaceChangeOfASavedTensorIsAnError) {
  Variable x = leaf({1, 2});
  Tensor w = from_vector<float>({3, 4}, Shape{2});
  Variable loss = ag::sum(ag::mul(x, Variable(w)));  // saves w for dL/dx
  ops::mul_(w, 2.0f);
  try {
    loss.backward();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("modified in place"), std::string::npos) << e.message();
  }
}

TEST(Engine, NonScalarRootNeedsAnExplicitGradient) {
  Variable x = leaf({1, 2});
  Variable y = ag::mul_scalar(x, 2.0f);
  EXPECT_THROW(y.backward(), Error);
  y.backward(from_vector<float>({1, 10}, Shape{2}));
  EXPECT_CLOSE(x.grad(), std::vector<double>{2, 20}, 0, 0);
  Variable z = ag::mul_scalar(x, 2.0f);
  EXPECT_THROW(z.backward(zeros(Shape{3})), Error);
}

TEST(Engine, GradWithRespectToChosenInputsLeavesDotGradAlone) {
  Variable x = leaf({1, 2}), w = leaf({3, 4});
  Variable h = ag::mul(x, w);  // intermediate
  Variable loss = ag::sum(ag::square(h));
  std::vector<Tensor> g = ag::grad({loss}, {x, h}, {}, /*retain_graph=*/true);
  // dL/dh = 2h = [6, 16]; dL/dx = 2h * w = [18, 64].
  EXPECT_CLOSE(g[0], std::vector<double>{18, 64}, 0, 0);
  EXPECT_CLOSE(g[1], std::vector<double>{6, 16}, 0, 0);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // The retained graph still supports a normal backward.
  loss.backward();
  EXPECT_CLOSE(w.grad(), std::vector<double>{6, 32}, 0, 0);
}

TEST(Engine, GradOnlyAsksForTheNeededInputGradients) {
  // A two-input node reports which input gradients the engine asked for:
  // grad() with respect to x must not ask for w's (a frozen teacher's weight
  // gradients in backward-pass KD cost a full backward-weight pass).
  Variable x = leaf({1, 2}), w = leaf({3, 4});
  std::vector<bool> asked;
  Variable y = ag::record("Probe", {x, w}, ops::mul(x.value(), w.value()),
                          [&asked, xv = x.value(), wv = w.value()](const ag::Grads& g, const ag::Node& n) {
                            asked = {n.needs_input_grad(0), n.needs_input_grad(1)};
                            return ag::Grads{ops::mul(g[0], wv), ops::mul(g[0], xv)};
                          });
  Variable loss = ag::sum(y);
  std::vector<Tensor> g = ag::grad({loss}, {x}, {}, /*retain_graph=*/true);
  EXPECT_EQ(asked, (std::vector<bool>{true, false}));
  EXPECT_CLOSE(g[0], std::vector<double>{3, 4}, 0, 0);
  loss.backward();  // a full backward asks for both again
  EXPECT_EQ(asked, (std::vector<bool>{true, true}));
  EXPECT_CLOSE(w.grad(), std::vector<double>{1, 2}, 0, 0);
}

TEST(Engine, GradOfAnUnusedInputIsAnErrorUnlessAllowed) {
  Variable x = leaf({1}), y = leaf({2});
  Variable loss = ag::sum(ag::mul_scalar(x, 2.0f));
  EXPECT_THROW(ag::grad({loss}, {y}, {}, true), Error);
  std::vector<Tensor> g = ag::grad({loss}, {x, y}, {}, false, /*allow_unused=*/true);
  EXPECT_CLOSE(g[0], std::vector<double>{2}, 0, 0);
  EXPECT_FALSE(g[1].defined());
}

TEST(Engine, MultipleOutputNodeWithOneUnusedOutput) {
  Variable x = leaf({1, 2, 3, 4});
  std::vector<Variable> parts = ag::split(ag::reshape(x, {4, 1}), {1, 3}, 0);
  ag::sum(ag::mul_scalar(parts[1], 5.0f)).backward();  // parts[0] unused
  EXPECT_CLOSE(x.grad(), std::vector<double>{0, 5, 5, 5}, 0, 0);
}

TEST(Engine, DeepChainDoesNotRecurse) {
  // 20000 nodes: a recursive engine would overflow the stack.
  Variable x = leaf({1});
  Variable h = x;
  for (int i = 0; i < 20000; ++i) h = ag::add_scalar(h, 1.0f);
  ag::sum(h).backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{1}, 0, 0);
}

}  // namespace
}  // namespace retort
