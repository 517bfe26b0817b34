// retort report RUN [RUN...]: rebuilds report.html for one run, or a
// side-by-side comparison of several.
#include <algorithm>
#include <cstdio>

#include "distill/report.h"
#include "tensor/file_io.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

int cmd_report(const std::vector<std::string>& args) {
  Args cli("retort report RUN_DIR [RUN_DIR...] [--out FILE.html]",
           "Writes a self-contained HTML page (inline SVG) with the loss and accuracy curves of the\n"
           "runs, their final table (teacher, last and best top-1) and their configs. With one run\n"
           "and no --out it rewrites RUN_DIR/report.html.",
           {{"out", "FILE.html", "where to write the page", "", false}}, 1, 64);
  if (!cli.parse(args)) return 0;
  std::vector<distill::ReportRun> runs;
  for (const std::string& dir : cli.positional()) runs.push_back(distill::read_run(dir));
  std::string out = cli.get("out");
  if (out.empty()) {
    if (runs.size() > 1) throw UsageError("comparing several runs needs --out FILE.html");
    out = cli.positional()[0] + "/report.html";
  }
  write_file_atomic(out, distill::render_report(runs));
  // The same final table as text.
  int w = 3;  // the width of the run column
  for (const distill::ReportRun& r : runs) w = std::max(w, static_cast<int>(r.name.size()));
  std::printf("%-*s %9s %7s %9s %16s\n", w, "run", "teacher", "epochs", "last top-1", "best top-1 (ep)");
  for (const distill::ReportRun& r : runs) {
    char teacher[32] = "-";
    if (r.teacher_top1 >= 0) std::snprintf(teacher, sizeof teacher, "%.2f", r.teacher_top1);
    if (r.history.empty()) {
      std::printf("%-*s %9s %7d %9s %16s\n", w, r.name.c_str(), teacher, 0, "-", "-");
      continue;
    }
    double best = 0;
    for (const auto& m : r.history)
      if (m.epoch == r.best_epoch) best = m.test_top1;
    std::printf("%-*s %9s %7d %9.2f %10.2f (%d)\n", w, r.name.c_str(), teacher, r.history.back().epoch,
                r.history.back().test_top1, best, r.best_epoch);
  }
  std::printf("wrote %s (%zu run%s)\n", out.c_str(), runs.size(), runs.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace tools
}  // namespace retort
