// retort report RUN [RUN...]: rebuilds report.html for one run, or a
// side-by-side comparison of several.
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
  std::printf("wrote %s (%zu run%s)\n", out.c_str(), runs.size(), runs.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace tools
}  // namespace retort
