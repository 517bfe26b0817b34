// report.html: a self-contained page (inline SVG, no scripts, no network)
// with the loss and accuracy curves of one or more runs, their final table
// and their configs. `retort report RUN...` rebuilds it for several runs.
#pragma once
#include <string>
#include <vector>

#include "distill/trainer.h"

namespace retort {
namespace distill {

struct ReportRun {
  std::string name;  // shown in legends and the table (the run folder)
  std::string config_yaml;
  std::vector<EpochMetrics> history;
  int best_epoch = 0;
  double teacher_top1 = -1.0;  // < 0: no teacher
};

std::string render_report(const std::vector<ReportRun>& runs);

// Reads a run folder (config.yaml, metrics.jsonl, resume.safetensors for the
// teacher accuracy) back into a ReportRun.
ReportRun read_run(const std::string& run_dir);

}  // namespace distill
}  // namespace retort
