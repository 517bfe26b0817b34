#include "distill/settings.h"

#include <cmath>
#include <limits>

#include "layers/models/zoo.h"
#include "tensor/error.h"

namespace retort {
namespace distill {

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> keys = {
      {"name", "", "run name; the run folder is OUT/NAME (default: DATA-STUDENT-METHOD-sSEED)"},
      {"seed", "0", "seed of initialisation, shuffling, augmentation and every other random draw"},
      {"epochs", "240", "number of epochs"},
      {"device", "auto", "auto (cuda when a GPU is present), cpu, cuda or cuda:K"},
      {"threads", "0", "CPU threads (0: every core)"},
      {"allow_tf32", "false", "let FP32 convolutions and GEMMs on CUDA use TF32 tensor cores (faster on Ampere and "
                              "later; results then differ from the CPU's by about 1e-3)"},
      {"out", "runs", "directory that holds the run folders"},
      {"detect_anomaly", "false", "check every op's output and gradient for NaN/Inf and name the first op that "
                                  "produced one (slow; for debugging a diverging run)"},
      {"data.train", "fashion-mnist", "training data set spec (see `retort data --help`)"},
      {"data.test", "", "test data set spec (default: the training spec's test split)"},
      {"data.batch_size", "64", "training batch size"},
      {"data.test_batch_size", "256", "evaluation batch size"},
      {"data.workers", "2", "loader worker threads"},
      {"data.drop_last", "false", "drop the last incomplete training batch (the benchmark keeps it)"},
      {"data.train_subset", "0", "train on a seeded random subset of this many samples (0: all)"},
      {"data.test_subset", "0", "evaluate on a seeded random subset of this many samples (0: all)"},
      {"model.student", "resnet20", "student architecture (a zoo name, `retort models`)"},
      {"model.student_weights", "", "optional initial student weights (safetensors)"},
      {"model.teacher", "", "teacher architecture; empty for plain training"},
      {"model.teacher_weights", "", "teacher weights (safetensors), required with a teacher"},
      {"method.name", "none", "distillation objective (`retort loss --list`), or none for cross-entropy"},
      {"method.label_smoothing", "0", "label smoothing of the cross-entropy of plain training"},
      {"optim.name", "sgd", "sgd or adamw"},
      {"optim.lr", "0.05", "initial learning rate (0.01 for MobileNetV2/ShuffleNet students in the benchmark)"},
      {"optim.momentum", "0.9", "SGD momentum"},
      {"optim.weight_decay", "5e-4", "weight decay (SGD: added to the gradient; AdamW: decoupled)"},
      {"optim.nesterov", "false", "Nesterov momentum"},
      {"optim.beta1", "0.9", "AdamW beta1"},
      {"optim.beta2", "0.999", "AdamW beta2"},
      {"optim.eps", "1e-8", "AdamW epsilon"},
      {"schedule.kind", "multistep", "multistep, cosine or constant"},
      {"schedule.milestones", "150,180,210", "multistep: epochs after which the rate is multiplied by gamma"},
      {"schedule.gamma", "0.1", "multistep factor"},
      {"schedule.min_lr", "0", "cosine: the final rate"},
      {"schedule.warmup_epochs", "0", "linear warm-up of the learning rate over this many epochs"},
  };
  return keys;
}

Config default_config() {
  Config c(config_schema());
  c.allow_prefix("method.");
  return c;
}

namespace {

void require(bool ok, const std::string& key, const std::string& expected, const std::string& found) {
  RETORT_CHECK(ok, "config: " << key << " expects " << expected << ", found " << found);
}

// An integer key held as an int: larger values are refused, not wrapped.
int get_int32(const Config& c, const std::string& key) {
  const int64_t v = c.get_int(key);
  require(v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max(), key,
          "an integer within 32 bits", c.get(key));
  return static_cast<int>(v);
}

}  // namespace

TrainSettings TrainSettings::from_config(const Config& c) {
  TrainSettings s;
  s.name = c.get("name");
  s.seed = static_cast<uint64_t>(c.get_int("seed"));
  s.epochs = get_int32(c, "epochs");
  require(s.epochs >= 1, "epochs", "at least 1", c.get("epochs"));
  s.device = c.get("device");
  s.threads = get_int32(c, "threads");
  require(s.threads >= 0, "threads", "0 or more", c.get("threads"));
  s.out = c.get("out");
  s.detect_anomaly = c.get_bool("detect_anomaly");
  s.allow_tf32 = c.get_bool("allow_tf32");
  s.train_data = c.get("data.train");
  s.test_data = c.get("data.test");
  s.batch_size = c.get_int("data.batch_size");
  require(s.batch_size >= 1, "data.batch_size", "at least 1", c.get("data.batch_size"));
  s.test_batch_size = c.get_int("data.test_batch_size");
  require(s.test_batch_size >= 1, "data.test_batch_size", "at least 1", c.get("data.test_batch_size"));
  s.workers = get_int32(c, "data.workers");
  require(s.workers >= 0, "data.workers", "0 or more", c.get("data.workers"));
  s.drop_last = c.get_bool("data.drop_last");
  s.train_subset = c.get_int("data.train_subset");
  s.test_subset = c.get_int("data.test_subset");
  require(s.train_subset >= 0 && s.test_subset >= 0, "data.train_subset/test_subset", "0 or more",
          c.get("data.train_subset") + "/" + c.get("data.test_subset"));
  s.student = c.get("model.student");
  s.student_weights = c.get("model.student_weights");
  s.teacher = c.get("model.teacher");
  s.teacher_weights = c.get("model.teacher_weights");
  s.method = c.get("method.name");
  layers::find_model(s.student);  // unknown names fail here, before any work, with the nearest name
  if (!s.teacher.empty()) layers::find_model(s.teacher);
  s.label_smoothing = c.get_double("method.label_smoothing");
  require(s.label_smoothing >= 0 && s.label_smoothing <= 1, "method.label_smoothing", "a value in [0, 1]",
          c.get("method.label_smoothing"));
  for (const auto& kv : c.items())
    if (kv.first.rfind("method.", 0) == 0 && kv.first != "method.name" && kv.first != "method.label_smoothing")
      s.method_overrides.emplace_back(kv.first.substr(7), c.get_double(kv.first));

  if (s.method == "none") {
    RETORT_CHECK(s.method_overrides.empty(), "config: method." << s.method_overrides[0].first
                                                               << " is set but method.name is none (plain training)");
  } else {
    RETORT_CHECK(!s.teacher.empty(), "config: method " << s.method << " distills from a teacher; set model.teacher "
                                                                       "and model.teacher_weights");
    RETORT_CHECK(!s.teacher_weights.empty(), "config: model.teacher_weights is required with a teacher ("
                                                 << s.teacher << "); train one with `retort train`");
    s.method_options();  // validates the method name and the option names now
  }

  s.optimizer = c.get("optim.name");
  require(s.optimizer == "sgd" || s.optimizer == "adamw", "optim.name", "sgd or adamw", "'" + s.optimizer + "'");
  s.lr = c.get_double("optim.lr");
  s.momentum = c.get_double("optim.momentum");
  s.weight_decay = c.get_double("optim.weight_decay");
  s.nesterov = c.get_bool("optim.nesterov");
  s.beta1 = c.get_double("optim.beta1");
  s.beta2 = c.get_double("optim.beta2");
  s.eps = c.get_double("optim.eps");
  require(s.lr >= 0, "optim.lr", "a rate >= 0", c.get("optim.lr"));

  s.schedule.kind = optim::Schedule::parse_kind(c.get("schedule.kind"));
  s.schedule.base_lr = s.lr;
  s.schedule.milestones.clear();
  for (double m : c.get_list("schedule.milestones")) {
    require(m >= 0 && m <= std::numeric_limits<int>::max() && m == std::floor(m), "schedule.milestones",
            "whole epoch numbers", "'" + c.get("schedule.milestones") + "'");
    s.schedule.milestones.push_back(static_cast<int>(m));
  }
  s.schedule.gamma = c.get_double("schedule.gamma");
  s.schedule.min_lr = c.get_double("schedule.min_lr");
  s.schedule.warmup_epochs = get_int32(c, "schedule.warmup_epochs");
  s.schedule.total_epochs = s.epochs;
  return s;
}

Options TrainSettings::method_options() const {
  const MethodInfo& info = find_method(method);
  Options o = info.for_pair(teacher, student);
  for (const auto& kv : method_overrides) o.set(kv.first, kv.second);
  return o;
}

}  // namespace distill
}  // namespace retort
