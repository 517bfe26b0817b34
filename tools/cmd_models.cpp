// retort models: the zoo with parameter counts, MACs, feature dimension and
// classifier key.
#include <cstdio>

#include "autograd/variable.h"
#include "layers/models/zoo.h"
#include "tensor/json.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

int cmd_models(const std::vector<std::string>& args) {
  Args cli("retort models [--num-classes N] [--json]",
           "Lists every model of the zoo: parameters (learnable scalars), multiply-accumulates of one\n"
           "image at its default input (3x32x32 for CIFAR models, 3x224x224 for ImageNet models; convs\n"
           "and linear layers only), the pooled feature dimension and the classifier's state_dict key.",
           {{"num-classes", "N", "classifier size", "100", false},
            {"json", "", "print a JSON list of objects instead of a table", "", false}});
  if (!cli.parse(args)) return 0;
  const int64_t classes = cli.get_int("num-classes");
  if (classes < 1) throw UsageError("--num-classes expects a positive integer, found " + cli.get("num-classes"));
  json::Value list = json::Value::array();
  if (!cli.get_bool("json"))
    std::printf("%-12s %-18s %14s %16s %8s %-14s\n", "model", "family", "params", "MACs", "features", "classifier");
  for (const layers::ZooEntry& e : layers::zoo()) {
    auto model = e.make(layers::ModelConfig{classes, 3, 0});
    model->eval();
    const int64_t macs = layers::count_macs(*model, Shape{1, e.input_size, e.input_size, 3});
    if (cli.get_bool("json")) {
      json::Value o = json::Value::object();
      o.set("name", e.name);
      o.set("family", e.family);
      o.set("params", model->num_parameters());
      o.set("macs", macs);
      o.set("input", "3x" + std::to_string(e.input_size) + "x" + std::to_string(e.input_size));
      o.set("feature_dim", model->feature_dim());
      o.set("classifier", model->classifier_key());
      list.push_back(o);
    } else {
      std::printf("%-12s %-18s %14lld %16lld %8lld %-14s\n", e.name.c_str(), e.family.c_str(),
                  static_cast<long long>(model->num_parameters()), static_cast<long long>(macs),
                  static_cast<long long>(model->feature_dim()), model->classifier_key().c_str());
    }
  }
  if (cli.get_bool("json")) std::printf("%s\n", json::dump(list, 2).c_str());
  return 0;
}

}  // namespace tools
}  // namespace retort
