// retort predict: logits of a model on stored images, e.g. to check a
// converted teacher or to cache logits for offline distillation.
#include <cstdio>

#include "autograd/variable.h"
#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
#include "tensor/ops.h"
#include "tensor/safetensors.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

int cmd_predict(const std::vector<std::string>& args) {
  Args cli("retort predict --model NAME --weights W.safetensors --input X.safetensors --out Y.safetensors",
           "Runs the model in evaluation mode on the f32 tensor `images` of the input file\n"
           "(N x C x H x W, already normalised) and writes the f32 tensor `logits` (N x classes).",
           with_device_flags({{"model", "NAME", "architecture (a zoo name, `retort models`)", "", false},
            {"weights", "FILE", "weights (safetensors with the state_dict keys)", "", false},
            {"input", "FILE", "safetensors file holding `images`", "", false},
            {"out", "FILE", "where to write `logits`", "", false},
            {"num-classes", "N", "classifier size (default: the weights' metadata or classifier shape)", "", false},
            {"batch-size", "N", "images per forward pass", "256", false}}));
  if (!cli.parse(args)) return 0;
  for (const char* f : {"model", "weights", "input", "out"})
    if (!cli.has(f)) throw UsageError(std::string("--") + f + " is required; see --help");
  const Device device = device_from_flags(cli);

  const layers::ZooEntry& entry = layers::find_model(cli.get("model"));
  const safetensors::Contents in = safetensors::load(cli.get("input"));
  const Tensor* images = in.find("images");
  if (images == nullptr) throw UsageError(cli.get("input") + " has no tensor named 'images'");
  if (images->dtype() != DType::F32 || images->ndim() != 4)
    throw UsageError("'images' must be f32 N x C x H x W, found " + std::string(dtype_name(images->dtype())) + " " +
                     images->shape().str());
  const layers::WeightsFile w = layers::read_weights(cli.get("weights"));
  std::unique_ptr<layers::Model> probe = entry.make(layers::ModelConfig{1, images->size(1), 0});
  int64_t classes = cli.has("num-classes") ? cli.get_int("num-classes")
                                           : layers::weights_num_classes(w, probe->classifier_key());
  if (classes < 1) throw UsageError("cannot tell the class count from the weights; pass --num-classes");
  auto model = entry.make(layers::ModelConfig{classes, images->size(1), 0});
  layers::load_weights(*model, w, true);
  model->to(device);
  model->eval();

  const Tensor nhwc = ops::nchw_to_nhwc(*images);
  const int64_t n = nhwc.size(0), batch = cli.get_int("batch-size");
  if (batch < 1) throw UsageError("--batch-size expects a positive integer");
  std::vector<Tensor> parts;
  autograd::NoGradGuard no_grad;
  for (int64_t i = 0; i < n; i += batch) {
    const Tensor x = nhwc.narrow(0, i, std::min(batch, n - i)).contiguous().to(device);
    parts.push_back((*model)(autograd::Variable(x)).value().to(Device::cpu()));
  }
  const Tensor logits = parts.empty() ? empty(Shape{0, classes}) : ops::cat(parts, 0);
  safetensors::save(cli.get("out"), {{"logits", logits}},
                    {{"model", cli.get("model")}, {"weights", cli.get("weights")}});
  std::printf("wrote %s: logits [%lld, %lld]\n", cli.get("out").c_str(), static_cast<long long>(n),
              static_cast<long long>(classes));
  return 0;
}

}  // namespace tools
}  // namespace retort
