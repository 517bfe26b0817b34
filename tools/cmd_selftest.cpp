// retort selftest: runs every op and every objective on a device and on the
// CPU with the same inputs and compares them, then trains resnet20 for 20 steps
// on both and compares the losses (tools/selftest.h). This is how a user with a
// GPU checks the CUDA backend, which the build machine can only compile. With
// --device cpu both sides are the CPU: a check of the self-test itself.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/args.h"
#include "tools/commands.h"
#include "tools/selftest.h"

namespace retort {
namespace tools {

int cmd_selftest(const std::vector<std::string>& args) {
  Args cli("retort selftest [--device cuda|cuda:K|cpu]",
           "Runs every op (forward and backward) and every distillation objective on the device and\n"
           "on the CPU with the same inputs and prints, per op, the largest absolute and relative\n"
           "difference and whether it is within the op's tolerance; then trains resnet20 for 20 steps\n"
           "on synthetic data on both and compares the losses. Exits 0 only when every row passes.\n"
           "TF32 stays off. Without a GPU, `--device cuda` says so and exits 2; `--device cpu`\n"
           "compares the CPU with itself (a check of the self-test, not of a device).",
           {{"device", "DEV", "the device to check: cuda, cuda:K or cpu", "cuda", false}});
  if (!cli.parse(args)) return 0;
  const Device device = Device::parse(cli.get("device"));
  check_device_usable(device);

  const std::vector<Check> checks = selftest_checks();

  std::printf("selftest: %s against the CPU%s\n\n%-60s %11s %11s %15s  %s\n", device.str().c_str(),
              device.is_cpu() ? " (the CPU against itself: a check of the self-test)" : "", "op", "max abs err",
              "max rel err", "tolerance", "result");
  int failed = 0;
  for (const Check& c : checks) {
    Outcome o;
    try {
      o = compare(c.run(device), c.run(Device::cpu()), c.atol, c.rtol);
    } catch (const Error& e) {
      o = {0, 0, false, e.message()};
    }
    failed += o.pass ? 0 : 1;
    char tolerance[32];
    std::snprintf(tolerance, sizeof tolerance, "%.0e+%.0e|x|", c.atol, c.rtol);
    std::printf("%-60s %11.3g %11.3g %15s  %s%s%s\n", c.name.c_str(), o.max_abs, o.max_rel,
                c.atol == 0 && c.rtol == 0 ? "exact" : tolerance, o.pass ? "pass" : "FAIL", o.why.empty() ? "" : ": ",
                o.why.c_str());
  }
  std::printf("\n%zu checks, %d failed\n", checks.size(), failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace tools
}  // namespace retort
