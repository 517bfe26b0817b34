// Every zoo model's state_dict against ../shared/reference/cifar_zoo_state_dict_keys.json:
// the same keys in the same order, the same shapes, parameters vs buffers, and
// the parameter counts of MODELS.md.
#include <gtest/gtest.h>

#include "layers/models/zoo.h"
#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tests/layers/zoo_models.h"
#include "tests/testing.h"

namespace retort {
namespace {

const json::Value& reference() {
  static const json::Value ref =
      json::parse(read_file(std::string(RETORT_SOURCE_DIR) + "/../shared/reference/cifar_zoo_state_dict_keys.json"));
  return ref;
}

class ZooKeys : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooKeys, StateDictMatchesTheReference) {
  const std::string name = GetParam();
  const json::Value& ref = reference().at("models").at(name);
  const layers::Model* model = &testing::cifar_model(name);  // built with ModelConfig{100, 3, 0}
  const std::vector<layers::NamedTensor> sd = model->state_dict();
  const json::Value& keys = ref.at("keys");
  ASSERT_EQ(sd.size(), keys.size()) << name;
  ASSERT_EQ(static_cast<int64_t>(sd.size()), ref.at("state_dict_entries").as_int64());

  std::set<std::string> param_names;
  for (const auto& p : model->named_parameters()) param_names.insert(p.first);
  for (size_t i = 0; i < sd.size(); ++i) {
    const json::Value& k = keys[i];
    EXPECT_EQ(sd[i].name, k[0].as_string()) << name << " entry " << i;
    std::vector<int64_t> shape;
    for (size_t d = 0; d < k[1].size(); ++d) shape.push_back(k[1][d].as_int64());
    EXPECT_EQ(sd[i].tensor.shape(), Shape(shape)) << name << " " << sd[i].name;
    const bool is_param = k[2].as_string() == "param";
    EXPECT_EQ(param_names.count(sd[i].name) == 1, is_param) << name << " " << sd[i].name;
    if (sd[i].name.size() > 19 && sd[i].name.compare(sd[i].name.size() - 19, 19, "num_batches_tracked") == 0) {
      EXPECT_EQ(sd[i].tensor.dtype(), DType::I64);
    }
  }
  EXPECT_EQ(model->num_parameters(), ref.at("learnable_params").as_int64()) << name;
}

std::vector<std::string> zoo_names_in_reference() {
  std::vector<std::string> names;
  try {
    for (const layers::ZooEntry& e : layers::zoo())
      if (reference().at("models").find(e.name)) names.push_back(e.name);
  } catch (const Error&) {
    // No ../shared/reference beside the checkout: one instance, which fails
    // naming the missing file, instead of aborting test discovery.
    names = {"reference_missing"};
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(Cifar, ZooKeys, ::testing::ValuesIn(zoo_names_in_reference()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(Zoo, EveryReferenceModelIsInTheZoo) {
  for (const auto& m : reference().at("models").members()) EXPECT_NO_THROW(layers::find_model(m.first)) << m.first;
}

TEST(Zoo, UnknownNameSuggestsTheNearest) {
  try {
    layers::find_model("resnet33");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("unknown model 'resnet33'"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("did you mean"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace retort
