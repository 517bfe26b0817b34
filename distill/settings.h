// The keys of an experiment config (one YAML file per run, configs/<dataset>/
// <method>/<pair>.yaml) and their typed view. Defaults are the CIFAR-100
// benchmark recipe of MODELS.md section 6.1 except the data set, which
// defaults to Fashion-MNIST (no download needed).
#pragma once
#include <string>
#include <vector>

#include "distill/config.h"
#include "distill/objective.h"
#include "optim/schedule.h"
#include "tensor/device.h"

namespace retort {
namespace distill {

// Every config key with its default and help text.
const std::vector<ConfigKey>& config_schema();
// A Config holding the schema's defaults; "method." keys are open (checked
// against the method's options by TrainSettings::from_config).
Config default_config();

struct TrainSettings {
  std::string name;
  uint64_t seed = 0;
  int epochs = 240;
  std::string device = "auto";  // auto | cpu | cuda | cuda:K
  int threads = 0;              // 0: all cores
  std::string out = "runs";     // parent of the run folder
  bool detect_anomaly = false;  // autograd's anomaly mode for the whole run
  bool allow_tf32 = false;      // TF32 tensor cores for FP32 conv/GEMM on CUDA

  std::string train_data = "fashion-mnist";
  std::string test_data;        // "" = the train spec's test split
  int64_t batch_size = 64;
  int64_t test_batch_size = 256;
  int workers = 2;
  bool drop_last = false;
  int64_t train_subset = 0;     // 0 = every training sample, else a seeded random subset
  int64_t test_subset = 0;

  std::string student = "resnet20";
  std::string student_weights;  // optional initial weights
  std::string teacher;          // "" = plain training
  std::string teacher_weights;

  std::string method = "none";  // "none" = cross-entropy only; else a distill::methods() name
  std::vector<std::pair<std::string, double>> method_overrides;  // method.<option> keys as given
  double label_smoothing = 0.0;  // plain training only

  std::string optimizer = "sgd";  // sgd | adamw
  double lr = 0.05, momentum = 0.9, weight_decay = 5e-4;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  optim::Schedule schedule;

  // Reads and checks every key (types, ranges, the method and its options).
  static TrainSettings from_config(const Config& c);
  // The method's options: the defaults, the reference's values for this
  // teacher/student pair, then the config's method.* keys.
  Options method_options() const;
};

}  // namespace distill
}  // namespace retort
