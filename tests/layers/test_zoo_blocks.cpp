// Gradient checks (central differences) of every block type of the zoo on
// reduced-width instances with training-mode batch norm, plus value checks of
// the blocks' quirks (ShuffleV1's zero-padding-counting average pool and
// concat order, ShuffleV2's pass-through half, WRN's shortcut on the
// pre-activated input, MobileNetV2's t = 1 expansion conv).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "layers/models/mobilenetv2.h"
#include "layers/models/resnet_blocks.h"
#include "layers/models/shufflenetv1.h"
#include "layers/models/shufflenetv2.h"
#include "layers/models/vgg.h"
#include "layers/models/wrn.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using layers::Module;
using testing::grad_check;
using testing::random_tensor;

struct BlockCase {
  std::string name;
  std::function<std::shared_ptr<Module>(Generator&)> make;
  Shape input;  // NHWC
};

std::ostream& operator<<(std::ostream& os, const BlockCase& c) { return os << c.name; }

template <class B, class... Args>
std::function<std::shared_ptr<Module>(Generator&)> block(Args... args) {
  return [=](Generator& gen) { return std::make_shared<B>(args..., gen); };
}

const std::vector<BlockCase>& block_cases() {
  static const std::vector<BlockCase> cases = {
      {"CifarBasicIdentity", block<layers::BasicBlock>(int64_t(3), int64_t(3), int64_t(1), std::string("downsample")),
       Shape{2, 5, 5, 3}},
      {"CifarBasicProjection", block<layers::BasicBlock>(int64_t(2), int64_t(4), int64_t(2), std::string("downsample")),
       Shape{2, 6, 6, 2}},
      {"BottleneckProjectionStride2",
       block<layers::Bottleneck>(int64_t(4), int64_t(2), int64_t(2), std::string("shortcut")), Shape{2, 6, 6, 4}},
      {"BottleneckIdentity", block<layers::Bottleneck>(int64_t(8), int64_t(2), int64_t(1), std::string("shortcut")),
       Shape{2, 4, 4, 8}},
      {"WrnIdentity", block<layers::WrnBlock>(int64_t(3), int64_t(3), int64_t(1)), Shape{2, 5, 5, 3}},
      {"WrnConvShortcut", block<layers::WrnBlock>(int64_t(2), int64_t(4), int64_t(2)), Shape{2, 6, 6, 2}},
      {"VggBlock",
       [](Generator& gen) {
         return std::static_pointer_cast<Module>(layers::make_vgg_block(2, {3, 3}, gen));
       },
       Shape{2, 5, 5, 2}},
      {"InvertedResidualWithResidual", block<layers::InvertedResidual>(int64_t(3), int64_t(3), int64_t(1), int64_t(2)),
       Shape{2, 5, 5, 3}},
      {"InvertedResidualStride2", block<layers::InvertedResidual>(int64_t(2), int64_t(3), int64_t(2), int64_t(2)),
       Shape{2, 6, 6, 2}},
      {"InvertedResidualT1", block<layers::InvertedResidual>(int64_t(3), int64_t(2), int64_t(1), int64_t(1)),
       Shape{2, 5, 5, 3}},
      {"ShuffleV1Stride1", block<layers::ShuffleV1Unit>(int64_t(12), int64_t(12), int64_t(1), int64_t(3)),
       Shape{2, 4, 4, 12}},
      {"ShuffleV1Stride2", block<layers::ShuffleV1Unit>(int64_t(6), int64_t(12), int64_t(2), int64_t(3)),
       Shape{2, 5, 5, 6}},
      {"ShuffleV1FirstUnit", block<layers::ShuffleV1Unit>(int64_t(24), int64_t(12), int64_t(2), int64_t(3)),
       Shape{2, 4, 4, 24}},
      {"ShuffleV2Basic", block<layers::ShuffleV2BasicBlock>(int64_t(6)), Shape{2, 5, 5, 6}},
      {"ShuffleV2Down", block<layers::ShuffleV2DownBlock>(int64_t(3), int64_t(4)), Shape{2, 6, 6, 3}},
  };
  return cases;
}

class BlockGrad : public ::testing::TestWithParam<BlockCase> {};

TEST_P(BlockGrad, InputGradientMatchesCentralDifferences) {
  const BlockCase& c = GetParam();
  Generator gen(17);
  std::shared_ptr<Module> b = c.make(gen);
  b->train();  // batch statistics: the BN layers take part in the gradient
  EXPECT_TRUE(grad_check([b](const std::vector<Variable>& v) { return (*b)(v[0]); }, {random_tensor(c.input, 23)}));
}

INSTANTIATE_TEST_SUITE_P(Zoo, BlockGrad, ::testing::ValuesIn(block_cases()),
                         [](const ::testing::TestParamInfo<BlockCase>& i) { return i.param.name; });

// The projection shortcut's weight receives the gradient of the pre-activated input's path.
TEST(BlockGrad, WrnShortcutWeight) {
  Generator gen(3);
  auto b = std::make_shared<layers::WrnBlock>(2, 4, 2, gen);
  b->train();
  EXPECT_TRUE(grad_check(
      [b](const std::vector<Variable>& v) {
        b->convShortcut->weight = v[1];
        return (*b)(v[0]);
      },
      {random_tensor(Shape{2, 6, 6, 2}, 4), random_tensor(Shape{4, 2, 1, 1}, 5, 0.5f)}));
}

// ---------------------------------------------------------------- deferred initialisation

TEST(DeferConvInit, StartsAtZeroWithoutDrawingAndOnlyWhileAlive) {
  Generator gen(5);
  {
    const layers::DeferConvInit deferred;
    EXPECT_TRUE(layers::DeferConvInit::active());
    layers::Conv2d c(3, 4, 3, layers::ConvOptions{1, 1, 1, 1, true}, gen);
    EXPECT_EQ(gen.offset(), 0u);
    EXPECT_CLOSE(c.weight.value(), std::vector<double>(4 * 3 * 9, 0.0), 0, 0);
    EXPECT_CLOSE(c.bias.value(), std::vector<double>(4, 0.0), 0, 0);
  }
  EXPECT_FALSE(layers::DeferConvInit::active());
  layers::Conv2d c(3, 4, 3, layers::ConvOptions{1, 1, 1, 1, true}, gen);
  EXPECT_GT(gen.offset(), 0u);
  const std::vector<double> w = testing::to_doubles(c.weight.value());
  EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](double v) { return v != 0.0; }));
}

// ---------------------------------------------------------------- quirks, by value

TEST(BlockQuirks, ShuffleV1Stride2ConcatsBranchThenPaddedAveragePool) {
  Generator gen(1);
  layers::ShuffleV1Unit u(6, 12, 2, 3, gen);
  u.eval();
  autograd::NoGradGuard no_grad;
  const Variable y = u(Variable(ones(Shape{1, 4, 4, 6})));
  ASSERT_EQ(y.shape(), Shape({1, 2, 2, 18}));
  const std::vector<double> v = testing::to_doubles(y.value());
  // Channels 12..17 are ReLU(avg_pool(ones)): the corner window holds 4 ones
  // and 5 padding zeros, and the divisor counts the padding: 4/9; window (1, 1) is all inside: 1.
  for (int c = 12; c < 18; ++c) {
    EXPECT_NEAR(v[0 * 18 + c], 4.0 / 9.0, 1e-6) << c;
    EXPECT_NEAR(v[3 * 18 + c], 1.0, 1e-6) << c;
    EXPECT_NEAR(v[1 * 18 + c], 6.0 / 9.0, 1e-6) << c;
  }
}

TEST(BlockQuirks, ShuffleV2BasicPassesTheFirstHalfThrough) {
  Generator gen(2);
  layers::ShuffleV2BasicBlock b(6, gen);
  b.eval();
  autograd::NoGradGuard no_grad;
  const Variable x(random_tensor(Shape{1, 3, 3, 6}, 6));
  Variable pre;
  const Variable y = b.forward_preact(x, &pre);
  // preact = concat[x1, bn3 output], unshuffled; the output is shuffle2(concat[x1, ReLU(bn3 output)]).
  EXPECT_CLOSE(autograd::narrow(pre, 3, 0, 3).value(), autograd::narrow(x, 3, 0, 3).value(), 0, 0);
  const Variable unshuffled =
      autograd::cat({autograd::narrow(pre, 3, 0, 3), autograd::relu(autograd::narrow(pre, 3, 3, 3))}, 3);
  EXPECT_CLOSE(y.value(), autograd::channel_shuffle(unshuffled, 2).value(), 0, 0);
  // After shuffle(2) on 6 channels, x1's channels sit at even positions.
  EXPECT_CLOSE(autograd::narrow(y, 3, 2, 1).value(), autograd::narrow(x, 3, 1, 1).value(), 0, 0);
}

TEST(BlockQuirks, WrnProjectionConsumesThePreActivatedInput) {
  Generator gen(3);
  layers::WrnBlock b(2, 4, 1, gen);
  b.eval();
  autograd::NoGradGuard no_grad;
  const Variable x(random_tensor(Shape{1, 3, 3, 2}, 7));
  const Variable a = autograd::relu((*b.bn1)(x));
  const Variable r = (*b.conv2)(autograd::relu((*b.bn2)((*b.conv1)(a))));
  EXPECT_CLOSE(b(x).value(), autograd::add((*b.convShortcut)(a), r).value(), 1e-6, 1e-6);
  // Identity blocks add the raw input, not the pre-activated one.
  layers::WrnBlock same(2, 2, 1, gen);
  same.eval();
  const Variable a2 = autograd::relu((*same.bn1)(x));
  const Variable r2 = (*same.conv2)(autograd::relu((*same.bn2)((*same.conv1)(a2))));
  EXPECT_CLOSE(same(x).value(), autograd::add(x, r2).value(), 1e-6, 1e-6);
}

TEST(BlockQuirks, MobileNetV2ExpansionConvEvenForT1) {
  Generator gen(4);
  layers::InvertedResidual b(16, 8, 1, 1, gen);
  EXPECT_EQ(b.state_dict().front().name, "conv.0.weight");
  EXPECT_EQ(b.state_dict().front().tensor.shape(), Shape({16, 16, 1, 1}));
  EXPECT_FALSE(b.use_residual);
  layers::InvertedResidual r(8, 8, 1, 6, gen);
  EXPECT_TRUE(r.use_residual);
  layers::InvertedResidual s(8, 8, 2, 6, gen);
  EXPECT_FALSE(s.use_residual);
}

}  // namespace
}  // namespace retort
