// Subcommands of the retort binary and the error type for bad usage.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace retort {
namespace tools {

// A usage error (unknown flag, missing value): printed as one line, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int cmd_info(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_distill(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_models(const std::vector<std::string>& args);
int cmd_predict(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_data(const std::vector<std::string>& args);
int cmd_loss(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_selftest(const std::vector<std::string>& args);

}  // namespace tools
}  // namespace retort
