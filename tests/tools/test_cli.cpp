// The retort binary end to end: every shipped config resolves, bad input
// exits 2 with one line, a killed run resumes to the uninterrupted metrics,
// eval and predict agree with the trainer.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace fs = std::filesystem;
using testing::failed_with;
using testing::run_retort;

// A fresh folder per test, removed afterwards.
class Cli : public ::testing::Test {
 protected:
  std::string path(const std::string& rel) const { return tmp_ / rel; }

  // A short, single-threaded run on synthetic images; ARGS are appended.
  testing::CliRun train(const std::string& name, const std::string& args, const std::string& env = "") const {
    return run_retort(std::string("train --student resnet8 --data ") + kData + " --threads 1 --workers 0 --out '" +
                          tmp_.path() + "' --name " + name + " --set data.batch_size=32 " + args,
                      env);
  }
  static constexpr const char* kData = "synthetic:classes=4,size=32,n=96";
  testing::TempDir tmp_;
};

// The rows of metrics.csv without the two timing columns (the last two).
std::vector<std::string> metric_rows(const std::string& run_dir) {
  std::istringstream in(read_file(run_dir + "/metrics.csv"));
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    size_t cut = line.rfind(',');
    cut = line.rfind(',', cut - 1);
    rows.push_back(line.substr(0, cut));
  }
  return rows;
}

TEST_F(Cli, EveryShippedConfigResolves) {
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(std::string(RETORT_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    const std::string text = read_file(e.path().string());
    const bool distill = text.find("\n  teacher:") != std::string::npos;
    const testing::CliRun r =
        run_retort(std::string(distill ? "distill" : "train") + " --config '" + e.path().string() + "' --print-config" +
                   (distill ? " --set model.teacher_weights=unused.safetensors" : ""));
    EXPECT_EQ(r.status, 0) << e.path() << ": " << r.err;
    EXPECT_NE(r.out.find("student: "), std::string::npos) << e.path();
    ++checked;
  }
  // configs/{cifar100,imagenet} from tools/gen_configs.sh plus the two demos.
  EXPECT_EQ(checked, 167 + 8);
}

TEST_F(Cli, BadInputExitsTwoWithOneLine) {
  EXPECT_TRUE(failed_with(run_retort("train --student resnet9 --print-config"), {"unknown model 'resnet9'", "resnet8"}));
  EXPECT_TRUE(failed_with(run_retort("distill --student resnet8 --teacher resnet20 --method kdd "
                                     "--set model.teacher_weights=x --print-config"),
                          {"unknown distillation method 'kdd'", "'kd'"}));
  EXPECT_TRUE(failed_with(run_retort("train --set optim.lrr=3 --print-config"), {"unknown key 'optim.lrr'", "optim.lr"}));
  EXPECT_TRUE(failed_with(run_retort("train --epoch 3"), {"--epoch", "--epochs"}));
  EXPECT_TRUE(failed_with(train("missing", "--epochs 1 --set data.train=cifar10:" + path("absent")), {path("absent"), "does not exist"}));
  EXPECT_TRUE(failed_with(run_retort("distill --student resnet8 --teacher resnet20 --method kd --data " +
                                     std::string(kData) + " --set model.teacher_weights=" + path("none.safetensors") +
                                     " --out '" + path("runs") + "'"),
                          {path("none.safetensors")}));
  const testing::CliRun unknown = run_retort("frobnicate");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  EXPECT_EQ(run_retort("train --help").status, 0);
}

TEST_F(Cli, TeacherWeightsThatDoNotFitAreNamed) {
  ASSERT_EQ(train("teacher", "--epochs 1").status, 0);
  const std::string weights = path("teacher/last.safetensors");
  // resnet8 weights for a resnet14 teacher: the first missing key is named.
  EXPECT_TRUE(failed_with(run_retort("distill --student resnet8 --teacher resnet14 --method kd --data " +
                                     std::string(kData) + " --set model.teacher_weights=" + weights + " --out '" +
                                     path("runs") + "'"),
                          {weights, "layer1.1"}));
  // wrn_16_1 has a conv1 of the same shape but other names and shapes later.
  EXPECT_TRUE(failed_with(run_retort("distill --student resnet8 --teacher wrn_16_1 --method kd --data " +
                                     std::string(kData) + " --set model.teacher_weights=" + weights + " --out '" +
                                     path("runs") + "'"),
                          {weights}));
  // Four-class teacher, three-class data.
  EXPECT_TRUE(failed_with(run_retort("distill --student resnet8 --teacher resnet8 --method kd --data "
                                     "synthetic:classes=3,size=32,n=30 --set model.teacher_weights=" +
                                     weights + " --out '" + path("runs") + "'"),
                          {"are for 4 classes", "has 3"}));
}

TEST_F(Cli, NonFiniteLossStopsWithTheLastGoodCheckpoint) {
  EXPECT_TRUE(failed_with(train("diverge", "--epochs 1 --set optim.lr=1e30"), {"non-finite loss", "last.safetensors"}));
}

TEST_F(Cli, KilledRunResumesToTheUninterruptedMetrics) {
  ASSERT_EQ(train("whole", "--epochs 3").status, 0);
  const testing::CliRun killed = train("killed", "--epochs 3", "RETORT_KILL_AFTER_EPOCH=1");
  ASSERT_TRUE(killed.status == -SIGKILL || killed.status == 128 + SIGKILL) << "status " << killed.status << killed.err;
  ASSERT_EQ(metric_rows(path("killed")).size(), 2u) << "header and epoch 1";
  const testing::CliRun resumed = run_retort("train --resume '" + path("killed") + "' --threads 1");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resumed"), std::string::npos) << resumed.out;

  const std::vector<std::string> whole = metric_rows(path("whole")), again = metric_rows(path("killed"));
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(again, whole);
  // The final weights are bit-identical too.
  const safetensors::Contents a = safetensors::load(path("whole/last.safetensors"));
  const safetensors::Contents b = safetensors::load(path("killed/last.safetensors"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(testing::to_doubles(a.tensors[i].tensor), testing::to_doubles(b.tensors[i].tensor)) << a.tensors[i].name;
  }
  // A finished run is not started again.
  EXPECT_TRUE(failed_with(train("whole", "--epochs 3"), {"already holds a run"}));
}

TEST_F(Cli, EvalReproducesTheTrainersLastTestAccuracy) {
  ASSERT_EQ(train("run", "--epochs 1").status, 0);
  const std::vector<std::string> rows = metric_rows(path("run"));
  ASSERT_EQ(rows.size(), 2u);
  // epoch,lr,train_loss,train_ce,train_top1,test_loss,test_top1,...
  std::vector<std::string> cols;
  std::istringstream row(rows[1]);
  for (std::string c; std::getline(row, c, ',');) cols.push_back(c);
  ASSERT_GE(cols.size(), 7u);
  const testing::CliRun e = run_retort("eval --model resnet8 --weights " + path("run/last.safetensors") + " --data " +
                                       kData);
  ASSERT_EQ(e.status, 0) << e.err;
  char expected[32];
  std::snprintf(expected, sizeof expected, "%.2f", std::stod(cols[6]));
  EXPECT_NE(e.out.find(std::string("top-1 ") + expected + "%"), std::string::npos)
      << "eval output lacks top-1 " << expected << ":\n" << e.out;
  EXPECT_TRUE(failed_with(run_retort("eval --model resnet14 --weights " + path("run/last.safetensors") + " --data " + kData),
                          {path("run/last.safetensors")}));
}

TEST_F(Cli, ModelsListsTheZooWithItsCounts) {
  const testing::CliRun r = run_retort("models");
  ASSERT_EQ(r.status, 0) << r.err;
  // MODELS.md section 2, 100 classes.
  for (const char* line : {"83892", "7433860", "812836", "1355528", "23705252"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line;
  EXPECT_TRUE(failed_with(run_retort("models --num-classes 0"), {"--num-classes"}));
}

TEST_F(Cli, BenchReportsThroughputConsistentWithTheModelsMacs) {
  const testing::CliRun r = run_retort(
      "bench --model resnet8 --mode infer --batch 4 --iters 2 --repeats 3 --warmup 1 --threads 1 --peak 100 --profile --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json::Value o = json::parse(r.out);
  const double ips = o.at("images_per_second").as_double();
  EXPECT_GT(ips, 0.0);
  EXPECT_LE(o.at("images_per_second_min").as_double(), ips);
  EXPECT_GE(o.at("images_per_second_max").as_double(), ips);
  // Inference: 2 FLOP per multiply-add, 12,507,392 MACs per image (MODELS.md).
  EXPECT_NEAR(o.at("gflops").as_double(), ips * 2.0 * 12507392 / 1e9, 1e-9 * ips);
  EXPECT_EQ(o.at("peak_gflops").as_double(), 100.0);
  EXPECT_GT(o.at("peak_rss_mib").as_double(), 1.0);
  bool conv = false;
  for (const json::Value& e : o.at("profile").items())
    if (e.at("op").as_string() == "conv2d") conv = e.at("calls_per_step").as_double() == 9.0;  // resnet8: 9 convs
  EXPECT_TRUE(conv) << r.out;

  const testing::CliRun d = run_retort(
      "bench --model resnet8 --teacher resnet14 --mode distill --method cskd --batch 4 --iters 1 --repeats 1 --warmup 0 "
      "--threads 1 --peak 100");
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_NE(d.out.find("distill resnet14 -> resnet8 (cskd)"), std::string::npos) << d.out;
  EXPECT_TRUE(failed_with(run_retort("bench --model resnet8 --mode fly"), {"--mode", "'fly'"}));
  EXPECT_TRUE(failed_with(run_retort("bench --model resnet8 --mode distill"), {"--teacher"}));
  EXPECT_TRUE(failed_with(run_retort("bench --model resnet9"), {"unknown model 'resnet9'"}));
}

}  // namespace
}  // namespace retort
