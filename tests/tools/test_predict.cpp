// `retort predict` and `retort models` through the binary: predict writes the
// logits the library computes in-process, bad input exits 2 with one line,
// models --json parses and follows --num-classes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
#include "tensor/json.h"
#include "tensor/ops.h"
#include "tensor/safetensors.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::failed_with;
using testing::run_retort;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// resnet8 weights for 10 classes (BN statistics moved off their initial
// values) and a file of NCHW `images`.
class Predict : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = layers::make_model("resnet8", layers::ModelConfig{10, 3, 5});
    model_->train();
    {
      autograd::NoGradGuard no_grad;
      (*model_)(autograd::Variable(testing::random_tensor(Shape{8, 32, 32, 3}, 50)));
    }
    model_->eval();
    weights_ = dir_ / "resnet8.safetensors";
    layers::save_weights(weights_, *model_);
    images_ = testing::random_tensor(Shape{5, 3, 32, 32}, 51);
    input_ = dir_ / "images.safetensors";
    safetensors::save(input_, {{"images", images_}});
  }
  // predict with ARGS after the common flags.
  testing::CliRun predict(const std::string& model, const std::string& weights, const std::string& input,
                          const std::string& args = "") const {
    return run_retort("predict --model " + model + " --weights " + quoted(weights) + " --input " + quoted(input) +
                          " --out " + quoted(dir_ / "logits.safetensors") + " --device cpu " + args,
                      "OMP_NUM_THREADS=1");
  }
  std::string images_file(const std::string& name, const std::string& key, const Tensor& t) const {
    const std::string path = dir_ / name;
    safetensors::save(path, {{key, t}});
    return path;
  }

  testing::TempDir dir_;
  std::unique_ptr<layers::Model> model_;
  std::string weights_, input_;
  Tensor images_;
};

TEST_F(Predict, WritesTheLogitsOfTheModel) {
  // Batches of 2 (2 + 2 + 1) through the binary, one batch of 5 in-process.
  const testing::CliRun r = predict("resnet8", weights_, input_, "--batch-size 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("[5, 10]"), std::string::npos) << r.out;
  const safetensors::Contents out = safetensors::load(dir_ / "logits.safetensors");
  const Tensor* logits = out.find("logits");
  ASSERT_NE(logits, nullptr);
  EXPECT_EQ(logits->shape(), (Shape{5, 10}));
  EXPECT_EQ(logits->dtype(), DType::F32);

  autograd::NoGradGuard no_grad;
  const Tensor expected = (*model_)(autograd::Variable(ops::nchw_to_nhwc(images_))).value();
  EXPECT_CLOSE(*logits, expected, 1e-5, 1e-5);

  // The class count comes from the weights; --num-classes that disagrees is refused.
  EXPECT_TRUE(failed_with(predict("resnet8", weights_, input_, "--num-classes 7"), {weights_, "fc.weight"}));
}

TEST_F(Predict, BadInputExitsTwoWithOneLine) {
  EXPECT_TRUE(failed_with(predict("resnet9", weights_, input_), {"unknown model 'resnet9'", "resnet8"}));

  const std::string no_images = images_file("pixels.safetensors", "pixels", images_);
  EXPECT_TRUE(failed_with(predict("resnet8", weights_, no_images), {no_images, "'images'"}));

  const std::string rank3 = images_file("rank3.safetensors", "images", testing::random_tensor(Shape{5, 3, 32}, 52));
  EXPECT_TRUE(failed_with(predict("resnet8", weights_, rank3), {"'images'", "N x C x H x W", "[5, 3, 32]"}));

  // One channel against weights for three: conv1 does not fit.
  const std::string grey = images_file("grey.safetensors", "images", testing::random_tensor(Shape{2, 1, 32, 32}, 53));
  EXPECT_TRUE(failed_with(predict("resnet8", weights_, grey), {weights_, "conv1.weight", "[16, 1, 3, 3]", "[16, 3, 3, 3]"}));

  const std::string absent = dir_ / "absent.safetensors";
  EXPECT_TRUE(failed_with(predict("resnet8", absent, input_), {absent}));

  // resnet8 weights for resnet14 and for wrn_16_1.
  EXPECT_TRUE(failed_with(predict("resnet14", weights_, input_), {weights_, "resnet14", "arch resnet8", "layer1.1"}));
  EXPECT_TRUE(failed_with(predict("wrn_16_1", weights_, input_), {weights_, "wrn_16_1", "arch resnet8"}));
}

TEST(PredictHelp, MentionsEveryFlag) {
  const testing::CliRun r = run_retort("predict --help");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* flag : {"--model", "--weights", "--input", "--out", "--num-classes", "--batch-size", "--device", "--help"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " not in:\n" << r.out;
}

// name -> the JSON object of `retort models --json ARGS`.
json::Value models_json(const std::string& args) {
  const testing::CliRun r = run_retort("models --json " + args, "OMP_NUM_THREADS=1");
  EXPECT_EQ(r.status, 0) << r.err;
  json::Value list = json::parse(r.out);
  EXPECT_TRUE(list.is_array());
  return list;
}

const json::Value* entry(const json::Value& list, const std::string& name) {
  for (const json::Value& e : list.items())
    if (e.at("name").as_string() == name) return &e;
  return nullptr;
}

TEST(ModelsJson, FollowsNumClasses) {
  const json::Value hundred = models_json("");
  const json::Value ten = models_json("--num-classes 10");
  ASSERT_EQ(hundred.size(), layers::zoo().size());
  ASSERT_EQ(ten.size(), hundred.size());

  const json::Value* r8 = entry(hundred, "resnet8");
  ASSERT_NE(r8, nullptr);
  EXPECT_EQ(r8->at("params").as_int64(), 83892);  // MODELS.md section 2
  EXPECT_EQ(r8->at("feature_dim").as_int64(), 64);
  EXPECT_EQ(r8->at("classifier").as_string(), "fc");
  EXPECT_EQ(r8->at("input").as_string(), "3x32x32");
  // 90 fewer classes: 90 rows of 64 weights and 90 biases fewer.
  const json::Value* r8_10 = entry(ten, "resnet8");
  ASSERT_NE(r8_10, nullptr);
  EXPECT_EQ(r8_10->at("params").as_int64(), 83892 - 90 * 64 - 90);
  EXPECT_EQ(r8_10->at("params").as_int64(),
            layers::make_model("resnet8", layers::ModelConfig{10, 3, 0})->num_parameters());

  // Every model's classifier is one linear layer from feature_dim.
  for (const json::Value& e : hundred.items()) {
    const std::string name = e.at("name").as_string();
    const json::Value* small = entry(ten, name);
    ASSERT_NE(small, nullptr) << name;
    EXPECT_EQ(e.at("params").as_int64() - small->at("params").as_int64(), 90 * (e.at("feature_dim").as_int64() + 1))
        << name;
    EXPECT_GT(e.at("macs").as_int64(), small->at("macs").as_int64()) << name;
  }
}

}  // namespace
}  // namespace retort
