// retort info: what this build has and what this machine offers.
#include <cstdio>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/device.h"
#include "tensor/parallel.h"
#include "tools/args.h"

namespace retort {
namespace tools {

int cmd_info(const std::vector<std::string>& args) {
  Args cli("retort info",
           "Prints the build configuration (GEMM and convolution backends, CUDA backend, OpenMP threads)\n"
           "and the CUDA devices this process can use.",
           {});
  if (!cli.parse(args)) return 0;
  std::printf("retort 0.1.0\n");
  std::printf("gemm backend:  %s\n", cpu::gemm_backend());
  std::printf("conv backend:  %s\n", cpu::conv_backend());
  std::printf("threads:       %d\n", num_threads());
  std::printf("cuda backend:  %s\n", cuda_compiled() ? ("compiled: " + cuda_library_versions()).c_str() : "not compiled");
  std::printf("cuda devices:  %d\n", cuda_device_count());
  for (int k = 0; k < cuda_device_count(); ++k) std::printf("  cuda:%d        %s\n", k, cuda_device_name(k).c_str());
  if (cuda_device_count() > 0) std::printf("check a GPU with: retort selftest --device cuda:K\n");
  return 0;
}

}  // namespace tools
}  // namespace retort
