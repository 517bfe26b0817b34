// The retort command line: one binary, one subcommand per job. Library errors
// (retort::Error) and usage errors print one line and exit 2; anything else
// is an internal error (exit 1).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <unistd.h>

#include "tools/commands.h"
#include "tools/crash_hooks.h"
#include "tensor/cpu/gemm.h"
#include "tensor/error.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const Command kCommands[] = {
    {"train", "train a model with cross-entropy (a teacher or a baseline student)", retort::tools::cmd_train},
    {"distill", "distill a student from a frozen teacher with an objective", retort::tools::cmd_distill},
    {"eval", "evaluate weights on a data set: top-1, top-5, loss, per-class accuracy", retort::tools::cmd_eval},
    {"models", "list the model zoo: parameters, MACs, feature dimension, classifier key", retort::tools::cmd_models},
    {"predict", "logits of a model on stored images (checks converted teachers, caches logits)", retort::tools::cmd_predict},
    {"report", "rebuild report.html of a run, or compare several runs side by side", retort::tools::cmd_report},
    {"info", "print the build configuration and the devices", retort::tools::cmd_info},
    {"data", "inspect a data set: counts, classes, pixel statistics; --dump samples, --bench the loader", retort::tools::cmd_data},
    {"bench", "time a training, inference or distillation step: images/s, GFLOP/s, memory, per-op profile", retort::tools::cmd_bench},
    {"loss", "evaluate a distillation objective on stored logits (--list: every method)", retort::tools::cmd_loss},
    {"selftest", "check a GPU: every op, every objective and 20 training steps against the CPU", retort::tools::cmd_selftest},
};

void print_usage(FILE* out) {
  std::fprintf(out, "usage: retort <command> [options]   (retort <command> --help for its options)\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

// Restarts the binary once with OPENBLAS_CORETYPE set when OpenBLAS fell back
// to a generic kernel on a CPU it does not know; a user's own setting wins.
void choose_blas_kernel(char** argv) {
  const char* core = retort::cpu::blas_better_coretype();
  if (core == nullptr || std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);  // returns only on failure: go on with the generic kernel
}

}  // namespace

int main(int argc, char** argv) {
  choose_blas_kernel(argv);
  retort::tools::install_crash_hooks();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const retort::tools::UsageError& e) {
      std::fprintf(stderr, "retort %s: %s\n", c.name, e.what());
      return 2;
    } catch (const retort::Error& e) {
      std::fprintf(stderr, "retort %s: error: %s\n", c.name, e.message().c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "retort %s: internal error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "retort: unknown command '%s'\n", name.c_str());
  print_usage(stderr);
  return 2;
}
