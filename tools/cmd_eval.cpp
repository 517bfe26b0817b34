// retort eval: top-1, top-5, loss and per-class accuracy of weights on a data set.
#include <cmath>
#include <cstdio>

#include "data/spec.h"
#include "distill/evaluate.h"
#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
#include "tensor/json.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

int cmd_eval(const std::vector<std::string>& args) {
  Args cli("retort eval --model NAME --weights FILE.safetensors [--data SPEC] [options]",
           "Evaluates a model (evaluation-mode batch norm, the data set's test transform) and prints\n"
           "top-1, top-5, mean cross-entropy and the accuracy of every class.",
           with_device_flags({{"model", "NAME", "architecture (a zoo name, `retort models`)", "", false},
            {"weights", "FILE", "weights (safetensors with the state_dict keys)", "", false},
            {"data", "SPEC", "data set spec", "fashion-mnist", false},
            {"split", "SPLIT", "train or test", "test", false},
            {"batch-size", "N", "evaluation batch size", "256", false},
            {"workers", "N", "loader worker threads", "2", false},
            {"json", "", "print one JSON object instead of a table", "", false}}));
  if (!cli.parse(args)) return 0;
  if (!cli.has("model") || !cli.has("weights")) throw UsageError("--model and --weights are required; see --help");
  const Device device = device_from_flags(cli);
  const data::DataSource src = data::open_dataset(cli.get("data"), data::parse_split(cli.get("split")));
  data::Loader loader(src.dataset, src.transform("test"),
                      data::LoaderOptions{cli.get_int("batch-size"), false, false,
                                          static_cast<int>(cli.get_int("workers")), 0, device});
  const int64_t classes = src.dataset->num_classes();
  auto model = layers::make_model(cli.get("model"),
                                  layers::ModelConfig{classes, loader.view_shapes()[0].channels, 0});
  const layers::WeightsFile w = layers::read_weights(cli.get("weights"));
  const int64_t wc = layers::weights_num_classes(w, model->classifier_key());
  if (wc >= 0 && wc != classes)
    throw UsageError(cli.get("weights") + " holds a " + std::to_string(wc) + "-class model but " + src.dataset->name() +
                     " has " + std::to_string(classes) + " classes");
  layers::load_weights(*model, w, true);
  model->to(device);
  const distill::EvalResult r = distill::evaluate(*model, loader);

  const auto& names = src.dataset->classes();
  if (cli.get_bool("json")) {
    json::Value o = json::Value::object();
    o.set("model", cli.get("model"));
    o.set("weights", cli.get("weights"));
    o.set("data", src.dataset->name());
    o.set("samples", r.samples);
    o.set("top1", r.top1);
    o.set("top5", r.top5);
    o.set("loss", r.loss);
    json::Value per = json::Value::object();
    for (int64_t c = 0; c < classes; ++c) {
      const double a = r.class_accuracy(c);
      per.set(names[c], std::isnan(a) ? json::Value() : json::Value(a));
    }
    o.set("per_class_top1", per);
    std::printf("%s\n", json::dump(o, 2).c_str());
    return 0;
  }
  std::printf("%s on %s: %lld images\n", cli.get("model").c_str(), src.dataset->name().c_str(),
              static_cast<long long>(r.samples));
  std::printf("top-1 %.2f%%  top-5 %.2f%%  loss %.4f\n\nper class:\n", r.top1, r.top5, r.loss);
  for (int64_t c = 0; c < classes; ++c)
    std::printf("  %-24s %6.2f%%  (%lld)\n", names[c].c_str(), r.class_accuracy(c),
                static_cast<long long>(r.class_count.size() > static_cast<size_t>(c) ? r.class_count[c] : 0));
  return 0;
}

}  // namespace tools
}  // namespace retort
