#include "layers/checkpoint.h"

#include "tensor/safetensors.h"

namespace retort {
namespace layers {

void save_weights(const std::string& path, const Model& model, const Metadata& extra) {
  Metadata meta = {{"format", "retort"},
                   {"arch", model.name()},
                   {"num_classes", std::to_string(model.num_classes())},
                   {"in_channels", std::to_string(model.in_channels())}};
  meta.insert(meta.end(), extra.begin(), extra.end());
  safetensors::save(path, model.state_dict(), meta);
}

const std::string* WeightsFile::meta(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

WeightsFile read_weights(const std::string& path) {
  safetensors::Contents c = safetensors::load(path);
  return WeightsFile{std::move(c.tensors), std::move(c.metadata), path};
}

LoadReport load_weights(Model& model, const WeightsFile& file, bool strict) {
  try {
    return model.load_state_dict(file.tensors, strict);
  } catch (const Error& e) {
    const std::string* arch = file.meta("arch");
    RETORT_FAIL(file.source << " does not fit model " << model.name() << " with " << model.num_classes()
                            << " classes" << (arch ? " (the file says arch " + *arch + ")" : std::string()) << ": "
                            << e.message());
  }
}

LoadReport load_weights(Model& model, const std::string& path, bool strict) {
  return load_weights(model, read_weights(path), strict);
}

int64_t weights_num_classes(const WeightsFile& file, const std::string& classifier_key) {
  if (const std::string* n = file.meta("num_classes")) {
    try {
      return std::stoll(*n);
    } catch (const std::exception&) {
      RETORT_FAIL(file.source << ": metadata num_classes is '" << *n << "', expected an integer");
    }
  }
  for (const NamedTensor& t : file.tensors)
    if (t.name == classifier_key + ".weight" && t.tensor.ndim() == 2) return t.tensor.size(0);
  return -1;
}

}  // namespace layers
}  // namespace retort
