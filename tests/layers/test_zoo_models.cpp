// The zoo's models beyond their keys: parameter counts and MACs against
// MODELS.md section 2 (and torchvision's counts for the ImageNet ResNets),
// forward and backward at 32x32 and on 1x28x28 Fashion-MNIST-sized input,
// feature taps (MODELS.md section 4), the input-size rules, initialisation,
// determinism and WRN's mdistiller BN-parity option.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "layers/models/wrn.h"
#include "layers/models/zoo.h"
#include "tests/layers/zoo_models.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using layers::Model;
using layers::ModelConfig;
using layers::Taps;
using testing::cifar_model;
using testing::random_tensor;

// ---------------------------------------------------------------- expectations

// A tap's shape per image: C, H, W (NHWC in retort), or {D} for pooled.
struct TapShape {
  std::string name;
  std::vector<int64_t> chw;
};

// How the preact taps relate to the feature taps.
enum class PreactRule {
  kNone,          // no preact taps (MobileNetV2)
  kRelu,          // fK = ReLU(preactK)
  kShuffledRelu,  // fK = shuffle2(ReLU(preactK)) (ShuffleV2: preact is not shuffled)
  kBatchNorm,     // WRN: preactK = bn(fK); ReLU(preact_last) averaged is the pooled vector
};

struct CifarSpec {
  std::string name;
  int64_t params;
  int64_t macs;
  int64_t feature_dim;
  std::string classifier;
  // f0..fK at 32x32, channels and sides.
  std::vector<std::array<int64_t, 2>> feats;
  PreactRule preact;
};

std::ostream& operator<<(std::ostream& os, const CifarSpec& s) { return os << s.name; }

CifarSpec resnet(const std::string& name, int64_t params, int64_t macs, bool x4) {
  const int64_t w0 = x4 ? 32 : 16, w1 = x4 ? 64 : 16;
  return {name, params, macs, 4 * w1, "fc", {{w0, 32}, {w1, 32}, {2 * w1, 16}, {4 * w1, 8}}, PreactRule::kRelu};
}

CifarSpec wrn(const std::string& name, int64_t params, int64_t macs, int64_t k) {
  return {
      name, params, macs, 64 * k, "fc", {{16, 32}, {16 * k, 32}, {32 * k, 16}, {64 * k, 8}}, PreactRule::kBatchNorm};
}

CifarSpec vgg(const std::string& name, int64_t params, int64_t macs) {
  return {
      name, params, macs, 512, "classifier", {{64, 32}, {128, 16}, {256, 8}, {512, 4}, {512, 4}}, PreactRule::kRelu};
}

// MODELS.md section 2 (params, MACs) and section 4.1 (taps).
const std::vector<CifarSpec>& cifar_specs() {
  static const std::vector<CifarSpec> specs = {
      resnet("resnet8", 83892, 12507392, false),
      resnet("resnet14", 181108, 26663168, false),
      resnet("resnet20", 278324, 40818944, false),
      resnet("resnet32", 472756, 69130496, false),
      resnet("resnet44", 667188, 97442048, false),
      resnet("resnet56", 861620, 125753600, false),
      resnet("resnet110", 1736564, 253155584, false),
      resnet("resnet8x4", 1233540, 177071104, true),
      resnet("resnet32x4", 7433860, 1083040768, true),
      wrn("wrn_16_1", 180916, 26663168, 1),
      wrn("wrn_16_2", 703284, 101118464, 2),
      wrn("wrn_40_1", 569780, 83286272, 1),
      wrn("wrn_40_2", 2255156, 327610880, 2),
      vgg("vgg8", 3965028, 96192512),
      vgg("vgg11", 9277284, 209438720),
      vgg("vgg13", 9462180, 284936192),
      vgg("vgg16", 14774436, 398182400),
      vgg("vgg19", 20086692, 511428608),
      {"MobileNetV2",
       812836,
       6523648,
       1280,
       "classifier.0",
       {{16, 16}, {12, 16}, {16, 8}, {48, 4}, {160, 2}},
       PreactRule::kNone},
      {"ShuffleV1", 949258, 38691456, 960, "linear", {{24, 32}, {240, 16}, {480, 8}, {960, 4}}, PreactRule::kRelu},
      {"ShuffleV2",
       1355528,
       44504448,
       1024,
       "linear",
       {{24, 32}, {116, 16}, {232, 8}, {464, 4}},
       PreactRule::kShuffledRelu},
      {"ResNet18",
       11220132,
       555468800,
       512,
       "linear",
       {{64, 32}, {64, 32}, {128, 16}, {256, 8}, {512, 4}},
       PreactRule::kRelu},
      {"ResNet50",
       23705252,
       1298014208,
       2048,
       "linear",
       {{64, 32}, {256, 32}, {512, 16}, {1024, 8}, {2048, 4}},
       PreactRule::kRelu},
  };
  return specs;
}

// ---------------------------------------------------------------- helpers

Variable images(int64_t n, int64_t side, int64_t channels, uint64_t seed) {
  return Variable(random_tensor(Shape{n, side, side, channels}, seed));
}

Tensor labels(int64_t n, int64_t classes) {
  Tensor t = empty(Shape{n}, DType::I64);
  for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = (7 * i + 3) % classes;
  return t;
}

::testing::AssertionResult all_finite(const Tensor& t) {
  const Tensor c = t.contiguous();
  const float* p = c.data<float>();
  const int64_t n = c.numel();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return ::testing::AssertionFailure() << "non-finite value " << p[i] << " at " << i;
  return ::testing::AssertionSuccess();
}

// Train-mode forward and backward of a cross-entropy loss on a batch of 2:
// logits [2, classes], finite, and a finite gradient for every parameter.
void check_forward_backward(Model& model, int64_t side, int64_t channels, int64_t classes) {
  SCOPED_TRACE(model.name() + " at " + std::to_string(side) + "x" + std::to_string(side) + "x" +
               std::to_string(channels));
  model.train();
  model.zero_grad();
  Variable logits = model(images(2, side, channels, 11));
  ASSERT_EQ(logits.shape(), Shape({2, classes}));
  EXPECT_TRUE(all_finite(logits.value()));
  autograd::cross_entropy(logits, labels(2, classes)).backward();
  int64_t without_grad = 0;
  for (const auto& p : model.named_parameters()) {
    if (!p.second.grad().defined()) {
      ++without_grad;
      ADD_FAILURE() << "no gradient for " << p.first;
      continue;
    }
    EXPECT_TRUE(all_finite(p.second.grad())) << p.first;
  }
  EXPECT_EQ(without_grad, 0);
  model.zero_grad();
}

int64_t macs_of(Model& model, int64_t side, int64_t channels) {
  return layers::count_macs(model, Shape{1, side, side, channels});
}

const Tensor& param(const Model& model, const std::string& name) {
  for (const auto& p : model.named_parameters())
    if (p.first == name) return p.second.value();
  ADD_FAILURE() << model.name() << " has no parameter " << name;
  static const Tensor none;
  return none;
}

Tensor state(const Model& model, const std::string& name) {
  for (const auto& e : model.state_dict())
    if (e.name == name) return e.tensor;
  ADD_FAILURE() << model.name() << " has no state_dict entry " << name;
  return Tensor();
}

struct Stats {
  double mean = 0, std = 0, max_abs = 0;
};

Stats stats(const Tensor& t) {
  const std::vector<double> v = testing::to_doubles(t);
  Stats s;
  for (double x : v) {
    s.mean += x;
    s.max_abs = std::max(s.max_abs, std::abs(x));
  }
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}

// ---------------------------------------------------------------- CIFAR models

class CifarModel : public ::testing::TestWithParam<CifarSpec> {};

TEST_P(CifarModel, ParametersAndMacsMatchModelsMd) {
  const CifarSpec& s = GetParam();
  Model& model = cifar_model(s.name);
  EXPECT_EQ(model.num_parameters(), s.params);
  EXPECT_EQ(macs_of(model, 32, 3), s.macs);
  EXPECT_EQ(model.feature_dim(), s.feature_dim);
  EXPECT_EQ(model.classifier_key(), s.classifier);
  EXPECT_EQ(param(model, s.classifier + ".weight").shape(), Shape({100, s.feature_dim}));
  EXPECT_EQ(param(model, s.classifier + ".bias").shape(), Shape({100}));
  // Every convolution was initialised (models that re-initialise them build under DeferConvInit, which starts at zero).
  for (const auto& p : model.named_parameters()) {
    if (p.second.ndim() != 4) continue;
    const Tensor& w = p.second.value();
    const float* d = w.data<float>();
    EXPECT_TRUE(std::any_of(d, d + w.numel(), [](float v) { return v != 0.0f; })) << p.first << " is all zeros";
  }
}

TEST_P(CifarModel, ForwardBackwardAt32) { check_forward_backward(cifar_model(GetParam().name), 32, 3, 100); }

TEST_P(CifarModel, FeatureTaps) {
  const CifarSpec& s = GetParam();
  Model& model = cifar_model(s.name);
  autograd::NoGradGuard no_grad;
  model.eval();
  const Variable x = images(2, 32, 3, 21);
  Taps taps;
  const Variable logits = model.forward_taps(x, &taps);
  EXPECT_CLOSE(logits.value(), model(x).value(), 0, 0);  // taps do not change the result

  std::vector<std::string> expected;
  const size_t k = s.feats.size();
  for (size_t i = 0; i < k; ++i) {
    const std::string f = "f" + std::to_string(i);
    expected.push_back(f);
    ASSERT_NE(taps.find(f), nullptr) << f;
    EXPECT_EQ(taps.at(f).shape(), Shape({2, s.feats[i][1], s.feats[i][1], s.feats[i][0]})) << f;
    if (i > 0 && s.preact != PreactRule::kNone) {
      const std::string p = "preact" + std::to_string(i);
      expected.push_back(p);
      ASSERT_NE(taps.find(p), nullptr) << p;
      EXPECT_EQ(taps.at(p).shape(), taps.at(f).shape()) << p;
      const Variable& pre = taps.at(p);
      if (s.preact == PreactRule::kRelu) {
        EXPECT_CLOSE(autograd::relu(pre).value(), taps.at(f).value(), 0, 0) << p;
      }
      if (s.preact == PreactRule::kShuffledRelu) {
        EXPECT_CLOSE(autograd::channel_shuffle(autograd::relu(pre), 2).value(), taps.at(f).value(), 0, 0) << p;
      }
    }
  }
  expected.push_back("pooled");
  ASSERT_NE(taps.find("pooled"), nullptr);
  EXPECT_EQ(taps.at("pooled").shape(), Shape({2, s.feature_dim}));
  if (s.preact == PreactRule::kBatchNorm) {
    // preact3 = bn1(f3), and the head is mean(ReLU(bn1(f3))).
    const Variable pre = taps.at("preact" + std::to_string(k - 1));
    EXPECT_CLOSE(autograd::mean(autograd::mean(autograd::relu(pre), 1), 1).value(), taps.at("pooled").value(), 1e-5,
                 1e-5);
  }
  std::vector<std::string> names;
  for (const auto& t : taps.items()) names.push_back(t.first);
  std::sort(names.begin(), names.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
}

// Fashion-MNIST is 1x28x28: every model runs on it with a fresh 1-channel,
// 10-class instance, except the five largest (vgg11..vgg19, ResNet50: 77M
// parameters, whose initialisation alone would take seconds), which run on
// 28x28 input through their cached 3-channel instance; the input channel
// count only changes the stem convolution, whose 1-channel case the other
// members of their families cover.
TEST_P(CifarModel, RunsOnFashionMnistSizedInput) {
  const CifarSpec& s = GetParam();
  const std::vector<std::string> largest = {"vgg11", "vgg13", "vgg16", "vgg19", "ResNet50"};
  if (std::find(largest.begin(), largest.end(), s.name) != largest.end()) {
    check_forward_backward(cifar_model(s.name), 28, 3, 100);
    return;
  }
  auto model = layers::make_model(s.name, ModelConfig{10, 1, 3});
  EXPECT_EQ(model->in_channels(), 1);
  EXPECT_EQ(param(*model, model->classifier_key() + ".weight").shape(), Shape({10, s.feature_dim}));
  check_forward_backward(*model, 28, 1, 10);
}

INSTANTIATE_TEST_SUITE_P(Zoo, CifarModel, ::testing::ValuesIn(cifar_specs()),
                         [](const ::testing::TestParamInfo<CifarSpec>& i) { return i.param.name; });

TEST(Zoo, EveryCifarReferenceModelHasASpec) {
  // The zoo lists each of the 23 benchmark models with its default input size.
  for (const CifarSpec& s : cifar_specs()) {
    const layers::ZooEntry& e = layers::find_model(s.name);
    EXPECT_EQ(e.input_size, 32) << s.name;
    EXPECT_FALSE(e.family.empty()) << s.name;
  }
  EXPECT_EQ(cifar_specs().size(), 23u);
}

// ---------------------------------------------------------------- input-size rules

TEST(ZooInputSize, VggPoolsAfterBlock3OnlyAt64) {
  Model& model = cifar_model("vgg8");
  autograd::NoGradGuard no_grad;
  model.eval();
  Taps taps;
  model.forward_taps(images(1, 64, 3, 31), &taps);
  EXPECT_EQ(taps.at("f3").shape(), Shape({1, 8, 8, 512}));
  EXPECT_EQ(taps.at("f4").shape(), Shape({1, 4, 4, 512}));  // pooled before block4
  Taps taps48;
  model.forward_taps(images(1, 48, 3, 31), &taps48);
  EXPECT_EQ(taps48.at("f3").shape(), Shape({1, 6, 6, 512}));
  EXPECT_EQ(taps48.at("f4").shape(), Shape({1, 6, 6, 512}));  // no pool: the rule is height == 64
}

TEST(ZooInputSize, ShuffleV2HeadNeedsAFourByFourMap) {
  Model& model = cifar_model("ShuffleV2");
  autograd::NoGradGuard no_grad;
  model.eval();
  EXPECT_EQ(model(images(1, 25, 3, 1)).shape(), Shape({1, 100}));  // 25..32 give a 4x4 head map
  try {
    model(images(1, 64, 3, 1));
    FAIL() << "ShuffleV2 accepted a 64x64 input";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("ShuffleV2"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("64x64"), std::string::npos) << e.message();
  }
  EXPECT_THROW(model(images(1, 24, 3, 1)), Error);  // a 3x3 head map
}

// The last-stage pools are global means (MODELS.md section 1.1), so other sizes work.
TEST(ZooInputSize, GlobalPoolsRunAt64) {
  autograd::NoGradGuard no_grad;
  for (const char* name : {"resnet8", "wrn_16_1", "MobileNetV2", "ShuffleV1"}) {
    Model& model = cifar_model(name);
    model.eval();
    const Variable logits = model(images(1, 64, 3, 2));
    EXPECT_EQ(logits.shape(), Shape({1, 100})) << name;
    EXPECT_TRUE(all_finite(logits.value())) << name;
  }
}

TEST(ZooInputSize, WrongChannelCountNamesTheModel) {
  try {
    cifar_model("MobileNetV2")(images(1, 32, 1, 1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("MobileNetV2"), std::string::npos) << e.message();
  }
}

// ---------------------------------------------------------------- initialisation

// MODELS.md section 1.4, checked on large tensors so the sample statistics are tight.
TEST(ZooInit, FollowsTheReferenceSchemes) {
  // Tolerances of 4 standard errors of the sample statistics.
  auto kaiming = [](const Model& m, const std::string& name, int64_t fan_out) {
    const Tensor& w = param(m, name);
    const double n = static_cast<double>(w.numel()), sd = std::sqrt(2.0 / static_cast<double>(fan_out));
    const Stats s = stats(w);
    EXPECT_NEAR(s.std, sd, 4.0 * sd / std::sqrt(2.0 * n)) << m.name() << " " << name;
    EXPECT_NEAR(s.mean, 0.0, 4.0 * sd / std::sqrt(n)) << m.name() << " " << name;
  };
  auto constant = [](const Model& m, const std::string& name, double value) {
    const Stats s = stats(param(m, name));
    EXPECT_EQ(s.mean, value) << m.name() << " " << name;
    EXPECT_EQ(s.std, 0.0) << m.name() << " " << name;
  };
  auto pytorch_default = [](const Model& m, const std::string& name, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    const Stats s = stats(param(m, name));
    EXPECT_LE(s.max_abs, bound) << m.name() << " " << name;
    EXPECT_NEAR(s.std, bound / std::sqrt(3.0), 0.05 * bound) << m.name() << " " << name;
  };

  const Model& r = cifar_model("resnet8");
  kaiming(r, "layer3.0.conv2.weight", 64 * 9);
  constant(r, "layer3.0.bn2.weight", 1.0);
  pytorch_default(r, "fc.weight", 64);

  const Model& w = cifar_model("wrn_40_2");
  kaiming(w, "block3.layer.1.conv1.weight", 128 * 9);
  kaiming(w, "block2.layer.0.convShortcut.weight", 64);
  pytorch_default(w, "fc.weight", 128);
  constant(w, "fc.bias", 0.0);

  const Model& v = cifar_model("vgg8");
  kaiming(v, "block3.0.weight", 512 * 9);
  constant(v, "block3.0.bias", 0.0);
  constant(v, "block3.1.weight", 1.0);
  EXPECT_NEAR(stats(param(v, "classifier.weight")).std, 0.01, 0.0005);
  constant(v, "classifier.bias", 0.0);

  const Model& mb = cifar_model("MobileNetV2");
  kaiming(mb, "blocks.5.1.conv.3.weight", 480 * 9);  // depthwise: fan_out = channels * 9
  kaiming(mb, "conv2.0.weight", 1280);
  EXPECT_NEAR(stats(param(mb, "classifier.0.weight")).std, 0.01, 0.0005);
  constant(mb, "classifier.0.bias", 0.0);

  const Model& s1 = cifar_model("ShuffleV1");
  pytorch_default(s1, "layer2.1.conv1.weight", 160);
  pytorch_default(s1, "layer3.0.conv2.weight", 9);
  constant(s1, "layer3.0.bn2.weight", 1.0);
  pytorch_default(s1, "linear.weight", 960);

  const Model& s2 = cifar_model("ShuffleV2");
  pytorch_default(s2, "conv2.weight", 464);
  pytorch_default(s2, "linear.weight", 1024);

  const Model& k = cifar_model("ResNet18");
  kaiming(k, "layer4.1.conv2.weight", 512 * 9);
  pytorch_default(k, "linear.weight", 512);
}

TEST(ZooInit, TheSameSeedGivesTheSameWeights) {
  for (const char* name : {"resnet8", "wrn_16_2", "vgg8", "MobileNetV2", "ShuffleV1", "ShuffleV2"}) {
    const Model& cached = cifar_model(name);  // seed 0; forward/backward elsewhere leave parameters as they are
    auto again = layers::make_model(name, ModelConfig{100, 3, 0});
    const auto a = cached.named_parameters(), b = again->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_CLOSE(b[i].second.value(), a[i].second.value(), 0, 0) << name << " " << a[i].first;
  }
  // Another seed gives other weights (one model per initialisation path: Kaiming and PyTorch's default).
  for (const char* name : {"resnet8", "ShuffleV2"}) {
    auto other = layers::make_model(name, ModelConfig{100, 3, 1});
    const auto a = cifar_model(name).named_parameters(), c = other->named_parameters();
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].second.ndim() < 2) continue;  // BN weights and zero biases do not depend on the seed
      EXPECT_FALSE(testing::close(c[i].second.value(), a[i].second.value(), 0, 0)) << name << " " << a[i].first;
    }
  }
}

// ---------------------------------------------------------------- WRN preact taps

TEST(WrnPreactTaps, LeaveRunningStatisticsAloneUnlessAskedForMdistillerParity) {
  const ModelConfig config{100, 3, 4};
  auto plain = layers::make_wrn("wrn_16_1", 16, 1, config);
  auto parity = layers::make_wrn("wrn_16_1", 16, 1, config, /*mdistiller_bn_parity=*/true);
  const Variable x = images(2, 32, 3, 8);
  Taps taps_plain, taps_parity;
  plain->train();
  parity->train();
  plain->forward_taps(x, &taps_plain);
  parity->forward_taps(x, &taps_parity);
  for (const char* tap : {"preact1", "preact2", "preact3"})  // the same values (batch statistics) either way
    EXPECT_CLOSE(taps_plain.at(tap).value(), taps_parity.at(tap).value(), 1e-6, 1e-6) << tap;

  for (const char* bn : {"block2.layer.0.bn1", "block3.layer.0.bn1", "bn1"}) {
    const std::string b(bn);
    EXPECT_EQ(state(*plain, b + ".num_batches_tracked").item<int64_t>(), 1) << b;
    EXPECT_EQ(state(*parity, b + ".num_batches_tracked").item<int64_t>(), 2) << b;
    // Two momentum-0.1 updates with the same batch mean: 1 - 0.9^2 = 0.19 of it.
    std::vector<double> twice = testing::to_doubles(state(*plain, b + ".running_mean"));
    for (double& m : twice) m = m / 0.1 * 0.19;
    EXPECT_CLOSE(state(*parity, b + ".running_mean"), twice, 1e-5, 1e-4) << b;
  }
  EXPECT_EQ(state(*parity, "block2.layer.1.bn1.num_batches_tracked").item<int64_t>(), 1);

  // Parity mode updates even when no taps are asked for (mdistiller always builds them).
  (*parity)(x);
  EXPECT_EQ(state(*parity, "bn1.num_batches_tracked").item<int64_t>(), 4);
  (*plain)(x);
  EXPECT_EQ(state(*plain, "bn1.num_batches_tracked").item<int64_t>(), 2);

  // Evaluation mode: the taps use the running statistics and change nothing.
  plain->eval();
  const Tensor before = state(*plain, "bn1.running_mean").clone();
  Taps taps_eval;
  plain->forward_taps(x, &taps_eval);
  EXPECT_CLOSE(state(*plain, "bn1.running_mean"), before, 0, 0);
  EXPECT_EQ(state(*plain, "bn1.num_batches_tracked").item<int64_t>(), 2);
}

TEST(WrnGeneric, AnyDepthAndWidth) {
  // The extra teachers of MODELS.md section 5.1; counts from the section 3.2 formula.
  const std::map<std::string, int64_t> params = {{"wrn_16_4", 2772020}, {"wrn_28_2", 1479220}};
  for (const auto& p : params) {
    auto model = layers::make_model(p.first, ModelConfig{100, 3, 0});
    EXPECT_EQ(model->num_parameters(), p.second) << p.first;
  }
  EXPECT_EQ(layers::find_model("wrn_28_4").input_size, 32);
  EXPECT_THROW(layers::make_wrn("wrn_18_2", 18, 2, ModelConfig{}), Error);  // not 6n + 4
}

// ---------------------------------------------------------------- ImageNet models

struct ImageNetSpec {
  std::string name;
  int64_t params;  // at 1000 classes
  int64_t macs;    // at 224x224
  int64_t feature_dim;
  std::string classifier;
  std::vector<std::array<int64_t, 2>> feats_at_64;  // f0..fK (or f1..fK) channels and sides at 64x64
  int first_feat;
};

std::ostream& operator<<(std::ostream& os, const ImageNetSpec& s) { return os << s.name; }

class ImageNetModel : public ::testing::TestWithParam<ImageNetSpec> {};

// One test per model so each is built once: counts, MACs at 224, forward and
// backward at 64x64 (to keep the suite fast) and taps.
TEST_P(ImageNetModel, CountsForwardBackwardAndTaps) {
  const ImageNetSpec& s = GetParam();
  const layers::ZooEntry& entry = layers::find_model(s.name);
  EXPECT_EQ(entry.input_size, 224);
  auto model = entry.make(ModelConfig{1000, 3, 0});
  EXPECT_EQ(model->num_parameters(), s.params);
  EXPECT_EQ(model->feature_dim(), s.feature_dim);
  EXPECT_EQ(model->classifier_key(), s.classifier);
  EXPECT_EQ(macs_of(*model, 224, 3), s.macs);

  check_forward_backward(*model, 64, 3, 1000);

  autograd::NoGradGuard no_grad;
  model->eval();
  Taps taps;
  model->forward_taps(images(1, 64, 3, 9), &taps);
  for (size_t i = 0; i < s.feats_at_64.size(); ++i) {
    const int k = s.first_feat + static_cast<int>(i);
    const std::string f = "f" + std::to_string(k);
    const Shape shape({1, s.feats_at_64[i][1], s.feats_at_64[i][1], s.feats_at_64[i][0]});
    ASSERT_NE(taps.find(f), nullptr) << f;
    EXPECT_EQ(taps.at(f).shape(), shape) << f;
    if (k > 0) {
      const std::string p = "preact" + std::to_string(k);
      ASSERT_NE(taps.find(p), nullptr) << p;
      EXPECT_CLOSE(autograd::relu(taps.at(p)).value(), taps.at(f).value(), 0, 0) << p;
    }
  }
  EXPECT_EQ(taps.at("pooled").shape(), Shape({1, s.feature_dim}));
  EXPECT_EQ(taps.items().size(), 2 * s.feats_at_64.size() - (s.first_feat == 0 ? 1 : 0) + 1);
}

// Params: torchvision's published counts; MobileNetV1: mdistiller's layers
// summed by hand (4,231,976). MACs: the section 1.5 convention at 224x224.
INSTANTIATE_TEST_SUITE_P(
    Zoo, ImageNetModel,
    ::testing::Values(
        ImageNetSpec{"resnet18_imagenet",
                     11689512,
                     1814073344,
                     512,
                     "fc",
                     {{64, 32}, {64, 16}, {128, 8}, {256, 4}, {512, 2}},
                     0},
        ImageNetSpec{"resnet34_imagenet",
                     21797672,
                     3663761408,
                     512,
                     "fc",
                     {{64, 32}, {64, 16}, {128, 8}, {256, 4}, {512, 2}},
                     0},
        ImageNetSpec{"resnet50_imagenet",
                     25557032,
                     4089184256,
                     2048,
                     "fc",
                     {{64, 32}, {256, 16}, {512, 8}, {1024, 4}, {2048, 2}},
                     0},
        ImageNetSpec{"MobileNetV1", 4231976, 568740352, 1024, "fc", {{128, 16}, {256, 8}, {512, 4}, {1024, 2}}, 1}),
    [](const ::testing::TestParamInfo<ImageNetSpec>& i) { return i.param.name; });

}  // namespace
}  // namespace retort
