// retort train / retort distill: build a config from --config, the common
// flags and --set overrides, then run (or resume) the Trainer.
#include <cstdio>

#include "autograd/anomaly.h"
#include "distill/settings.h"
#include "distill/trainer.h"
#include "tensor/file_io.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace retort {
namespace tools {

namespace {

// Flags that are shortcuts for config keys.
struct Shortcut {
  const char* flag;
  const char* key;
  const char* value_name;
};

const Shortcut kCommon[] = {
    {"data", "data.train", "SPEC"},        {"epochs", "epochs", "N"},          {"batch-size", "data.batch_size", "N"},
    {"lr", "optim.lr", "LR"},              {"seed", "seed", "N"},              {"device", "device", "DEV"},
    {"threads", "threads", "N"},           {"workers", "data.workers", "N"},   {"out", "out", "DIR"},
    {"name", "name", "NAME"},
};
const Shortcut kDistill[] = {
    {"teacher", "model.teacher", "NAME"},
    {"teacher-weights", "model.teacher_weights", "FILE"},
    {"method", "method.name", "NAME"},
};

std::vector<Flag> flags_for(bool distill) {
  std::vector<Flag> flags = {
      {"config", "FILE.yaml", "experiment config (configs/<dataset>/<method>/<pair>.yaml)", "", false},
      {"set", "KEY=VALUE", "override a config key (e.g. --set optim.lr=0.1, --set method.T=4)", "", true},
      {"resume", "RUN_DIR", "continue an interrupted run from its last checkpoint, with its own config", "", false},
      {"student", "NAME", distill ? "student architecture (config model.student)" : "architecture (config model.student)", "", false},
  };
  const distill::Config defaults = distill::default_config();
  for (const Shortcut& s : kCommon)
    flags.push_back({s.flag, s.value_name, std::string("config ") + s.key, defaults.get(s.key), false});
  if (distill)
    for (const Shortcut& s : kDistill) flags.push_back({s.flag, s.value_name, std::string("config ") + s.key, "", false});
  flags.push_back({"detect-anomaly", "",
                   "check every op's output (forward) and gradient (backward) for NaN/Inf and stop at the first, "
                   "naming the op and its shapes (config detect_anomaly; slower; also with --resume)",
                   "", false});
  flags.push_back({"allow-tf32", "", "let FP32 convolutions and GEMMs on CUDA use TF32 (config allow_tf32)", "", false});
  flags.push_back({"print-config", "", "print the resolved config and exit", "", false});
  return flags;
}

int run_command(const std::vector<std::string>& argv, bool distill) {
  const std::string cmd = distill ? "distill" : "train";
  Args cli("retort " + cmd + " [--config FILE.yaml] [--set KEY=VALUE ...] [options]",
           std::string(distill ? "Distills a student from a frozen teacher with a distillation objective and writes a run\n"
                                 "folder (config, metrics.csv/.jsonl, log, last/best checkpoints, report.html).\n"
                               : "Trains a model with cross-entropy (a teacher, or a student baseline) and writes a run\n"
                                 "folder (config, metrics.csv/.jsonl, log, last/best checkpoints, report.html).\n") +
               "Every file is written atomically; a run killed at any moment continues with --resume to the\n"
               "result of an uninterrupted run. A non-finite loss or gradient stops the run naming the step,\n"
               "the loss terms, the parameter nearest the loss whose gradient went non-finite and the last\n"
               "good checkpoint; --detect-anomaly finds the op that produced the first NaN/Inf.",
           flags_for(distill));
  if (!cli.parse(argv)) return 0;

  std::unique_ptr<distill::Trainer> trainer;
  if (cli.has("resume")) {
    for (const char* f : {"config", "set", "student"})
      if (cli.has(f)) throw UsageError(std::string("--resume continues with the run's own config; drop --") + f);
    if (cli.get_bool("detect-anomaly")) autograd::set_detect_anomaly(true);  // a diagnosis of the resumed part
    trainer = distill::Trainer::resume(cli.get("resume"));
  } else {
    distill::Config config = distill::default_config();
    if (cli.has("config")) config.merge_yaml(read_file(cli.get("config")), cli.get("config"));
    if (cli.has("student")) config.set("model.student", cli.get("student"));
    for (const Shortcut& s : kCommon)
      if (cli.has(s.flag)) config.set(s.key, cli.get(s.flag));
    if (distill)
      for (const Shortcut& s : kDistill)
        if (cli.has(s.flag)) config.set(s.key, cli.get(s.flag));
    for (const std::string& kv : cli.get_all("set")) config.set_assignment(kv);
    if (cli.get_bool("detect-anomaly")) config.set("detect_anomaly", "true");
    if (cli.get_bool("allow-tf32")) config.set("allow_tf32", "true");
    if (!distill && (config.get("method.name") != "none" || !config.get("model.teacher").empty()))
      throw UsageError("retort train has no teacher; use retort distill for method " + config.get("method.name"));
    if (distill && config.get("method.name") == "none")
      throw UsageError("retort distill needs --method (see retort loss --list)");
    distill::TrainSettings::from_config(config);  // every check before any work
    if (cli.get_bool("print-config")) {
      std::fputs(config.to_yaml().c_str(), stdout);
      return 0;
    }
    trainer = distill::Trainer::create(config);
  }
  ProgressPrinter progress;
  const distill::RunSummary r = trainer->run(progress);
  std::printf("done: %s, last top-1 %.2f%%, best %.2f%% at epoch %d; report %s/report.html\n", r.run_dir.c_str(),
              r.last_top1, r.best_top1, r.best_epoch, r.run_dir.c_str());
  return 0;
}

}  // namespace

int cmd_train(const std::vector<std::string>& args) { return run_command(args, false); }
int cmd_distill(const std::vector<std::string>& args) { return run_command(args, true); }

}  // namespace tools
}  // namespace retort
