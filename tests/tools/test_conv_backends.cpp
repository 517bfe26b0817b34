// The convolution backends change no result: the same short training run with
// the built-in im2col + GEMM path (RETORT_CONV=builtin) and with oneDNN gives
// the same losses and accuracies to float tolerance. Only in oneDNN builds.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/file_io.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

// metrics.csv as numbers, one row per epoch, without the header and the two
// timing columns (the last two).
std::vector<std::vector<double>> metrics(const std::string& run_dir) {
  std::istringstream in(read_file(run_dir + "/metrics.csv"));
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) row.push_back(std::stod(c));
    row.resize(row.size() - 2);
    rows.push_back(row);
  }
  return rows;
}

// Trains `model` for `epochs` with each backend (2 threads, so oneDNN's
// threaded kernels run) and compares metrics.csv cell by cell.
void expect_same_run(const std::string& model, const std::string& data, int epochs) {
  testing::TempDir tmp;
  std::vector<std::vector<double>> runs[2];
  const char* backends[2] = {"builtin", "onednn"};
  for (int b = 0; b < 2; ++b) {
    const std::string name = std::string("run-") + backends[b];
    const testing::CliRun r = testing::run_retort(
        "train --student " + model + " --data " + data + " --threads 2 --workers 0 --epochs " + std::to_string(epochs) +
            " --out '" + tmp.path() +
            "' --name " + name + " --set data.batch_size=16",
        std::string("RETORT_CONV=") + backends[b]);
    ASSERT_EQ(r.status, 0) << r.err;
    runs[b] = metrics(tmp.path() + "/" + name);
  }
  ASSERT_EQ(runs[0].size(), static_cast<size_t>(epochs));
  ASSERT_EQ(runs[1].size(), runs[0].size());
  for (size_t e = 0; e < runs[0].size(); ++e) {
    ASSERT_EQ(runs[1][e].size(), runs[0][e].size());
    for (size_t c = 0; c < runs[0][e].size(); ++c) {
      const double a = runs[0][e][c], o = runs[1][e][c];
      // Losses differ only by summation order (~1e-6 per op); accuracies are
      // counts of argmaxes, which these margins do not flip.
      EXPECT_NEAR(o, a, 1e-4 * std::max(1.0, std::abs(a))) << model << ": epoch " << e + 1 << ", column " << c;
    }
  }
}

TEST(ConvBackends, ShortTrainingRunsAgree) {
  if (!cpu::conv_backend_available("onednn")) GTEST_SKIP() << "this build has no oneDNN";
  expect_same_run("resnet8", "synthetic:classes=4,size=32,n=64", 2);
  // Depthwise and pointwise convolutions. One epoch only: on 32 random images
  // MobileNetV2's batch norms over 2x2 maps magnify rounding so much that the
  // built-in path alone, run with 1 and then 2 threads, differs by 0.25% in
  // the second epoch's training loss.
  expect_same_run("MobileNetV2", "synthetic:classes=4,size=32,n=32", 1);
}

}  // namespace
}  // namespace retort
