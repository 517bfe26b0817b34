// End-to-end check of the foundation: a small CNN (conv-BN-ReLU-pool-linear)
// trained with plain SGD on a synthetic data set must drive its loss far below
// where it started.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace ag = autograd;
using ag::Variable;

// Class k of 4: a bright 2-pixel-wide vertical bar at columns 2k, 2k+1, on noise.
void make_batch(Generator& gen, int64_t n, Tensor& images, Tensor& labels) {
  images = ops::randn(Shape{n, 8, 8, 1}, gen);
  ops::mul_(images, 0.5f);
  labels = ops::randint(Shape{n}, 4, gen);
  float* px = images.data<float>();
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < 8; ++h)
      for (int64_t w = 2 * y[i]; w < 2 * y[i] + 2; ++w) px[(i * 8 + h) * 8 + w] += 1.0f;
}

Variable param(Tensor t) { return Variable(std::move(t), true); }

TEST(TrainingSmoke, SmallCnnLossFallsByAMargin) {
  Generator init(11), data(12);
  Tensor w0 = ops::randn(Shape{8, 1, 3, 3}, init);
  ops::mul_(w0, std::sqrt(2.0f / 9.0f));
  Tensor fc0 = ops::randn(Shape{4, 128}, init);
  ops::mul_(fc0, 0.1f);
  Variable conv_w = param(w0), gamma = param(ones(Shape{8})), beta = param(zeros(Shape{8}));
  Variable fc_w = param(fc0), fc_b = param(zeros(Shape{4}));
  Tensor running_mean = zeros(Shape{8}), running_var = ones(Shape{8});
  const std::vector<Variable> params = {conv_w, gamma, beta, fc_w, fc_b};

  auto forward = [&](const Tensor& images, bool training) {
    Variable h = ag::conv2d(Variable(images), conv_w, Variable(), ops::Conv2dOptions::make(1, 1));
    h = ag::relu(ag::batch_norm(h, gamma, beta, running_mean, running_var, training));
    h = ag::max_pool2d(h, ops::Pool2dOptions::make(2));  // [N, 4, 4, 8]; flattening keeps the bar's position
    h = ag::reshape(h, {-1, 128});
    return ag::linear(h, fc_w, fc_b);
  };

  Tensor test_images, test_labels;
  make_batch(data, 256, test_images, test_labels);
  auto test_loss = [&] {
    ag::NoGradGuard no_grad;
    return ag::cross_entropy(forward(test_images, false), test_labels).value().item<float>();
  };

  const float before = test_loss();
  const float lr = 0.1f;
  for (int step = 0; step < 300; ++step) {
    Tensor images, labels;
    make_batch(data, 32, images, labels);
    Variable loss = ag::cross_entropy(forward(images, true), labels);
    ASSERT_TRUE(std::isfinite(loss.value().item<float>())) << "step " << step;
    loss.backward();
    for (const Variable& p : params) {
      Tensor value = p.value();
      ops::add_(value, p.grad(), -lr);
      p.zero_grad();
    }
  }
  const float after = test_loss();
  // Chance is ln 4 = 1.386; the bars are easy to find.
  EXPECT_GT(before, 1.0f);
  EXPECT_LT(after, 0.25f * before) << "loss before " << before << ", after " << after;

  // The trained model classifies held-out images well above chance (25%).
  ag::NoGradGuard no_grad;
  const Tensor pred = ops::argmax(forward(test_images, false).value(), 1);
  int correct = 0;
  for (int64_t i = 0; i < 256; ++i) correct += pred.data<int64_t>()[i] == test_labels.data<int64_t>()[i];
  EXPECT_GT(correct, 0.9 * 256) << correct << " of 256 correct";
}

}  // namespace
}  // namespace retort
