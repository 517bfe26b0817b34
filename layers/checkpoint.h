// Model weights <-> safetensors files with exactly the state_dict keys, so
// files converted from the public PyTorch teachers (tools/convert_pth.py) load
// as they are. Metadata records the architecture and the class count.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "layers/models/model.h"

namespace retort {
namespace layers {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Writes the model's state_dict (atomically) with metadata {"format": "retort",
// "arch", "num_classes", "in_channels"} followed by `extra`.
void save_weights(const std::string& path, const Model& model, const Metadata& extra = {});

struct WeightsFile {
  std::vector<NamedTensor> tensors;
  Metadata metadata;
  std::string source;  // the path, for messages
  const std::string* meta(const std::string& key) const;
};
WeightsFile read_weights(const std::string& path);

// Loads weights into the model. Strict: every missing key, unexpected key and
// shape mismatch in one Error that names the file, the model and the keys;
// non-strict: loads what matches and returns the rest. F16/BF16 tensors were
// upcast to f32 by the reader.
LoadReport load_weights(Model& model, const WeightsFile& file, bool strict = true);
LoadReport load_weights(Model& model, const std::string& path, bool strict = true);

// The number of classes the weights were trained for: the "num_classes"
// metadata, else the row count of the classifier weight `classifier_key`.weight;
// -1 when neither exists.
int64_t weights_num_classes(const WeightsFile& file, const std::string& classifier_key);

}  // namespace layers
}  // namespace retort
