// Checkpoints (layers/checkpoint.h) and the Module state_dict/load path: a
// save -> load round trip reproduces the logits bit for bit, every malformed
// file is an Error naming the path and the key and loses nothing, non-strict
// loads report what they skipped, metadata reads back (MODELS.md section 5.4).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
#include "tensor/file_io.h"
#include "tensor/safetensors.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

using layers::LoadReport;
using layers::Model;
using layers::ModelConfig;
using testing::TempDir;

// Logits of the model in evaluation mode.
Tensor eval_logits(Model& model, const Tensor& x) {
  model.eval();
  autograd::NoGradGuard no_grad;
  return model(autograd::Variable(x)).value().contiguous();
}

// Moves the BN running statistics and num_batches_tracked away from their
// initial values with `steps` training-mode forward passes.
void warm_batch_norm(Model& model, int steps, uint64_t seed) {
  model.train();
  autograd::NoGradGuard no_grad;
  for (int i = 0; i < steps; ++i)
    model(autograd::Variable(testing::random_tensor(Shape{4, 32, 32, model.in_channels()}, seed + i)));
  model.eval();
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

// A deep copy of the state_dict, to compare against after a load.
std::vector<NamedTensor> snapshot(const Model& model) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& t : model.state_dict()) out.push_back({t.name, t.tensor.clone()});
  return out;
}

::testing::AssertionResult same_state(const Model& model, const std::vector<NamedTensor>& expected) {
  const std::vector<NamedTensor> now = model.state_dict();
  if (now.size() != expected.size())
    return ::testing::AssertionFailure() << now.size() << " tensors, expected " << expected.size();
  for (size_t i = 0; i < now.size(); ++i) {
    if (now[i].name != expected[i].name)
      return ::testing::AssertionFailure() << "key " << i << " is " << now[i].name << ", expected " << expected[i].name;
    if (!same_bits(now[i].tensor, expected[i].tensor)) return ::testing::AssertionFailure() << now[i].name << " differs";
  }
  return ::testing::AssertionSuccess();
}

const Tensor* find(const std::vector<NamedTensor>& tensors, const std::string& name) {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t.tensor;
  return nullptr;
}

std::vector<NamedTensor> without(std::vector<NamedTensor> tensors, const std::string& name) {
  std::vector<NamedTensor> out;
  for (NamedTensor& t : tensors)
    if (t.name != name) out.push_back(std::move(t));
  return out;
}

class CheckpointRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointRoundTrip, ReproducesTheLogitsBitForBit) {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  std::unique_ptr<Model> src = layers::make_model(GetParam(), ModelConfig{100, 3, 1});
  warm_batch_norm(*src, 2, 100);
  const Tensor x = testing::random_tensor(Shape{3, 32, 32, 3}, 7);
  const Tensor expected = eval_logits(*src, x);
  layers::save_weights(path, *src);

  // Another seed and untouched BN statistics: the logits differ before the load.
  std::unique_ptr<Model> dst = layers::make_model(GetParam(), ModelConfig{100, 3, 2});
  ASSERT_FALSE(same_bits(eval_logits(*dst, x), expected)) << "the receiving model already computes the same logits";

  const LoadReport report = layers::load_weights(*dst, path);
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_TRUE(report.defaulted.empty()) << report.summary();
  EXPECT_EQ(report.loaded, static_cast<int64_t>(src->state_dict().size()));
  EXPECT_TRUE(same_state(*dst, src->state_dict()));

  // Running statistics and num_batches_tracked came across.
  int bn = 0;
  const std::vector<NamedTensor> dst_sd = dst->state_dict(), src_sd = src->state_dict();
  for (const NamedTensor& t : dst_sd) {
    if (t.name.size() < 19 || t.name.compare(t.name.size() - 19, 19, "num_batches_tracked") != 0) continue;
    ASSERT_EQ(t.tensor.dtype(), DType::I64) << t.name;
    EXPECT_EQ(t.tensor.item<int64_t>(), 2) << t.name;
    const std::string stem = t.name.substr(0, t.name.size() - 19);
    const Tensor* mean = find(dst_sd, stem + "running_mean");
    const Tensor* src_mean = find(src_sd, stem + "running_mean");
    ASSERT_NE(mean, nullptr) << stem;
    ASSERT_NE(src_mean, nullptr) << stem;
    EXPECT_TRUE(same_bits(*mean, *src_mean)) << stem;
    ++bn;
  }
  EXPECT_GT(bn, 0);

  EXPECT_TRUE(same_bits(eval_logits(*dst, x), expected)) << "logits after the load differ";
}

INSTANTIATE_TEST_SUITE_P(Zoo, CheckpointRoundTrip, ::testing::Values("resnet8", "wrn_16_1", "MobileNetV2", "ShuffleV1"));

// The resnet8 used by the error tests: a source file and a receiving model.
class CheckpointErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = layers::make_model("resnet8", ModelConfig{100, 3, 1});
    warm_batch_norm(*src_, 1, 200);
    dst_ = layers::make_model("resnet8", ModelConfig{100, 3, 2});
    before_ = snapshot(*dst_);
  }
  std::string write(const std::string& name, const std::vector<NamedTensor>& tensors) {
    const std::string path = dir_ / name;
    safetensors::save(path, tensors, {{"format", "retort"}, {"arch", "resnet8"}, {"num_classes", "100"}});
    return path;
  }
  TempDir dir_;
  std::unique_ptr<Model> src_, dst_;
  std::vector<NamedTensor> before_;
};

TEST_F(CheckpointErrors, MissingKeyIsNamedAndLosesNothing) {
  const std::string path = write("missing.safetensors", without(src_->state_dict(), "layer1.0.conv2.weight"));
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, path), path, "layer1.0.conv2.weight", "missing", "resnet8");
  EXPECT_TRUE(same_state(*dst_, before_));
  // A required buffer is required too.
  const std::string stats = write("stats.safetensors", without(src_->state_dict(), "bn1.running_var"));
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, stats), stats, "bn1.running_var", "missing");
  EXPECT_TRUE(same_state(*dst_, before_));
}

TEST_F(CheckpointErrors, UnexpectedKeyIsNamedAndLosesNothing) {
  std::vector<NamedTensor> tensors = src_->state_dict();
  tensors.push_back({"fc.extra", zeros(Shape{3})});
  const std::string path = write("extra.safetensors", tensors);
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, path), path, "fc.extra", "unexpected");
  EXPECT_TRUE(same_state(*dst_, before_));
}

TEST_F(CheckpointErrors, WrongShapeNamesBothShapesAndLosesNothing) {
  std::vector<NamedTensor> tensors = src_->state_dict();
  for (NamedTensor& t : tensors)
    if (t.name == "fc.weight") t.tensor = testing::random_tensor(Shape{10, 64}, 3);
  const std::string path = write("shape.safetensors", tensors);
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, path), path, "fc.weight", "[100, 64]", "[10, 64]");
  EXPECT_TRUE(same_state(*dst_, before_));
}

TEST_F(CheckpointErrors, EveryProblemInOneError) {
  std::vector<NamedTensor> tensors = without(src_->state_dict(), "conv1.weight");
  tensors.push_back({"head.weight", zeros(Shape{2, 2})});
  for (NamedTensor& t : tensors)
    if (t.name == "fc.bias") t.tensor = zeros(Shape{7});
  const std::string path = write("all.safetensors", tensors);
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, path), path, "conv1.weight", "head.weight", "fc.bias", "[100]", "[7]");
  EXPECT_TRUE(same_state(*dst_, before_));
}

TEST_F(CheckpointErrors, TruncatedBodyNamesTheTensorAndLosesNothing) {
  const std::string whole = dir_ / "whole.safetensors";
  layers::save_weights(whole, *src_);
  const std::string bytes = read_file(whole);
  // fc.bias, the last key, holds the last 400 bytes of the buffer.
  const std::string path = dir_ / "truncated.safetensors";
  testing::write_bytes(path, bytes.substr(0, bytes.size() - 100));
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, path), path, "fc.bias");
  EXPECT_ERROR_WITH(layers::read_weights(path), path, "fc.bias");
  EXPECT_TRUE(same_state(*dst_, before_));
  // An absent file names the path.
  EXPECT_ERROR_WITH(layers::load_weights(*dst_, dir_ / "absent.safetensors"), dir_ / "absent.safetensors");
  EXPECT_TRUE(same_state(*dst_, before_));
}

TEST_F(CheckpointErrors, NonStrictLoadReportsWhatItSkipped) {
  std::vector<NamedTensor> tensors = without(src_->state_dict(), "layer1.0.conv1.weight");
  tensors.push_back({"aux.weight", zeros(Shape{4})});
  for (NamedTensor& t : tensors)
    if (t.name == "fc.weight") t.tensor = zeros(Shape{10, 64});
  const std::string path = write("partial.safetensors", tensors);
  const size_t total = src_->state_dict().size();

  const LoadReport r = layers::load_weights(*dst_, path, /*strict=*/false);
  EXPECT_FALSE(r.clean());
  EXPECT_EQ(r.missing, std::vector<std::string>{"layer1.0.conv1.weight"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"aux.weight"});
  ASSERT_EQ(r.mismatched.size(), 1u);
  EXPECT_NE(r.mismatched[0].find("fc.weight"), std::string::npos) << r.mismatched[0];
  EXPECT_NE(r.mismatched[0].find("[100, 64]"), std::string::npos) << r.mismatched[0];
  EXPECT_NE(r.mismatched[0].find("[10, 64]"), std::string::npos) << r.mismatched[0];
  EXPECT_TRUE(r.defaulted.empty());
  EXPECT_EQ(r.loaded, static_cast<int64_t>(total - 2));
  const std::string summary = r.summary();
  for (const char* s : {"layer1.0.conv1.weight", "aux.weight", "fc.weight"})
    EXPECT_NE(summary.find(s), std::string::npos) << summary;

  // What matched was loaded; the missing and mismatched tensors kept their values.
  const std::vector<NamedTensor> now = dst_->state_dict(), want = src_->state_dict();
  for (const NamedTensor& t : now) {
    const Tensor& expected = (t.name == "layer1.0.conv1.weight" || t.name == "fc.weight") ? *find(before_, t.name)
                                                                                          : *find(want, t.name);
    EXPECT_TRUE(same_bits(t.tensor, expected)) << t.name;
  }
}

// MODELS.md section 5.4: num_batches_tracked is optional and set to 0 when absent.
TEST_F(CheckpointErrors, AbsentNumBatchesTrackedIsOptionalAndZero) {
  std::vector<NamedTensor> tensors;
  for (const NamedTensor& t : src_->state_dict())
    if (t.name.find("num_batches_tracked") == std::string::npos) tensors.push_back(t);
  const std::string path = write("old.safetensors", tensors);
  warm_batch_norm(*dst_, 3, 300);  // the receiving model's counters are 3
  const LoadReport r = layers::load_weights(*dst_, path);
  EXPECT_TRUE(r.clean()) << r.summary();
  EXPECT_EQ(r.defaulted.size(), src_->state_dict().size() - tensors.size());
  EXPECT_EQ(r.loaded, static_cast<int64_t>(tensors.size()));
  for (const NamedTensor& t : dst_->state_dict()) {
    if (t.name.find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(t.tensor.item<int64_t>(), 0) << t.name;
    } else {
      EXPECT_TRUE(same_bits(t.tensor, *find(tensors, t.name))) << t.name;
    }
  }
}

TEST(Checkpoint, MetadataReadsBack) {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  std::unique_ptr<Model> model = layers::make_model("resnet8", ModelConfig{10, 1, 4});
  layers::save_weights(path, *model, {{"epoch", "3"}, {"source", "unit test"}});
  const layers::WeightsFile w = layers::read_weights(path);
  EXPECT_EQ(w.source, path);
  const layers::Metadata expected = {{"format", "retort"}, {"arch", "resnet8"}, {"num_classes", "10"},
                                     {"in_channels", "1"}, {"epoch", "3"},      {"source", "unit test"}};
  EXPECT_EQ(w.metadata, expected);
  ASSERT_NE(w.meta("epoch"), nullptr);
  EXPECT_EQ(*w.meta("epoch"), "3");
  EXPECT_EQ(w.meta("absent"), nullptr);
  ASSERT_EQ(w.tensors.size(), model->state_dict().size());
  EXPECT_EQ(layers::weights_num_classes(w, model->classifier_key()), 10);

  // The file loads into a model of the same configuration.
  std::unique_ptr<Model> again = layers::make_model("resnet8", ModelConfig{10, 1, 5});
  EXPECT_TRUE(layers::load_weights(*again, w).clean());
  EXPECT_TRUE(same_state(*again, model->state_dict()));
}

TEST(Checkpoint, NumClassesFromMetadataElseTheClassifier) {
  TempDir dir;
  for (const char* name : {"resnet8", "MobileNetV2", "ShuffleV1"}) {
    std::unique_ptr<Model> model = layers::make_model(name, ModelConfig{7, 3, 0});
    const std::string with_meta = dir / (std::string(name) + "-meta.safetensors");
    layers::save_weights(with_meta, *model);
    EXPECT_EQ(layers::weights_num_classes(layers::read_weights(with_meta), model->classifier_key()), 7) << name;
    // Without metadata: the rows of `classifier_key`.weight.
    const std::string bare = dir / (std::string(name) + "-bare.safetensors");
    safetensors::save(bare, model->state_dict());
    const layers::WeightsFile w = layers::read_weights(bare);
    EXPECT_TRUE(w.metadata.empty());
    EXPECT_EQ(layers::weights_num_classes(w, model->classifier_key()), 7) << name;
    EXPECT_EQ(layers::weights_num_classes(w, "no_such_layer"), -1) << name;
  }
  // The metadata wins over the classifier; a non-integer is an Error naming the file.
  std::unique_ptr<Model> model = layers::make_model("resnet8", ModelConfig{7, 3, 0});
  const std::string odd = dir / "odd.safetensors";
  safetensors::save(odd, model->state_dict(), {{"num_classes", "12"}});
  EXPECT_EQ(layers::weights_num_classes(layers::read_weights(odd), "fc"), 12);
  const std::string bad = dir / "bad.safetensors";
  safetensors::save(bad, model->state_dict(), {{"num_classes", "many"}});
  EXPECT_ERROR_WITH(layers::weights_num_classes(layers::read_weights(bad), "fc"), bad, "num_classes", "many");
}

TEST(ModuleState, StateDictLoadsBackAndRefusesDuplicates) {
  std::unique_ptr<Model> a = layers::make_model("resnet8", ModelConfig{10, 3, 1});
  std::unique_ptr<Model> b = layers::make_model("resnet8", ModelConfig{10, 3, 2});
  warm_batch_norm(*a, 1, 400);
  // PyTorch's order: a module's parameters, its buffers, then its children.
  const std::vector<NamedTensor> sd = a->state_dict();
  ASSERT_GE(sd.size(), 6u);
  EXPECT_EQ(sd[0].name, "conv1.weight");
  EXPECT_EQ(sd[1].name, "bn1.weight");
  EXPECT_EQ(sd[2].name, "bn1.bias");
  EXPECT_EQ(sd[3].name, "bn1.running_mean");
  EXPECT_EQ(sd[4].name, "bn1.running_var");
  EXPECT_EQ(sd[5].name, "bn1.num_batches_tracked");
  EXPECT_EQ(sd.back().name, "fc.bias");

  const std::vector<NamedTensor> before = snapshot(*b);
  std::vector<NamedTensor> twice = sd;
  twice.push_back(sd[0]);
  EXPECT_ERROR_WITH(b->load_state_dict(twice), "conv1.weight", "twice");
  EXPECT_TRUE(same_state(*b, before));

  // A dtype mismatch (num_batches_tracked as f32) is refused like a shape mismatch.
  std::vector<NamedTensor> wrong_dtype = sd;
  wrong_dtype[5].tensor = zeros(Shape{});
  EXPECT_ERROR_WITH(b->load_state_dict(wrong_dtype), "bn1.num_batches_tracked");
  EXPECT_TRUE(same_state(*b, before));

  const LoadReport r = b->load_state_dict(sd);
  EXPECT_TRUE(r.clean()) << r.summary();
  EXPECT_TRUE(same_state(*b, sd));
  // The loaded values are copies: changing the source later does not reach b.
  a->named_parameters()[0].second.value().data<float>()[0] += 1.0f;
  EXPECT_FALSE(same_bits(a->state_dict()[0].tensor, b->state_dict()[0].tensor));
}

}  // namespace
}  // namespace retort
