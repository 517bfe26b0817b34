// The retort binary end to end: every shipped config resolves, bad input
// exits 2 with one line, a killed run resumes to the uninterrupted metrics,
// eval and predict agree with the trainer.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "layers/checkpoint.h"
#include "layers/models/zoo.h"
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

TEST_F(Cli, DetectAnomalyNamesTheFirstOpThatProducedANaN) {
  // Weights with one NaN in layer2's second convolution: that convolution is
  // the first op whose output is not finite.
  ASSERT_EQ(train("init", "--epochs 1").status, 0);
  safetensors::Contents w = safetensors::load(path("init/last.safetensors"));
  bool planted = false;
  for (NamedTensor& t : w.tensors)
    if (t.name == "layer2.0.conv2.weight") {
      t.tensor.data<float>()[5] = std::nanf("");
      planted = true;
    }
  ASSERT_TRUE(planted);
  safetensors::save(path("nan.safetensors"), w.tensors, w.metadata);
  const std::string weights = " --set model.student_weights=" + path("nan.safetensors");
  EXPECT_TRUE(failed_with(train("plain", "--epochs 1" + weights), {"non-finite loss", "nan at epoch 1, step 1 of 3"}));
  EXPECT_TRUE(failed_with(train("anomaly", "--epochs 1 --detect-anomaly" + weights),
                          {"detect-anomaly: the forward of Conv2d produced", "[32, 32, 3, 3] 1 non-finite",
                           "comes from outside the graph", "at epoch 1, step 1 of 3",
                           path("anomaly/last.safetensors") + " (epoch 0)"}));
  // A huge learning rate: the second step's forward overflows somewhere. The
  // run stopped without the flag; resumed with it from its epoch-0
  // checkpoint, it names the op.
  EXPECT_TRUE(failed_with(train("huge-lr", "--epochs 1 --set optim.lr=1e30"), {"non-finite loss", "step 2 of 3"}));
  EXPECT_TRUE(failed_with(run_retort("train --resume '" + path("huge-lr") + "' --threads 1 --detect-anomaly"),
                          {"detect-anomaly: the forward of", "at epoch 1, step 2 of 3"}));
  // The config key does the same, and is kept in the run's config.
  EXPECT_TRUE(failed_with(train("by-key", "--epochs 1 --set detect_anomaly=true" + weights),
                          {"detect-anomaly: the forward of Conv2d"}));
  EXPECT_NE(read_file(path("by-key/config.yaml")).find("detect_anomaly: true"), std::string::npos);
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

bool killed_by_sigkill(const testing::CliRun& r) { return r.status == -SIGKILL || r.status == 128 + SIGKILL; }

// Loads the run's checkpoint through the library (last.safetensors and the
// model part of resume.safetensors, strictly, into a fresh resnet8) and
// returns the epoch the resume snapshot is at.
int loadable_checkpoint_epoch(const std::string& run_dir) {
  const std::unique_ptr<layers::Model> model = layers::make_model("resnet8", layers::ModelConfig{4, 3, 0});
  layers::load_weights(*model, run_dir + "/last.safetensors", true);
  const safetensors::Contents snapshot = safetensors::load(run_dir + "/resume.safetensors");
  std::vector<NamedTensor> weights;
  for (const NamedTensor& t : snapshot.tensors)
    if (t.name.rfind("model.", 0) == 0) weights.push_back({t.name.substr(6), t.tensor});
  model->load_state_dict(weights, true);
  for (const auto& kv : snapshot.metadata)
    if (kv.first == "epoch") return std::stoi(kv.second);
  throw std::runtime_error(run_dir + "/resume.safetensors has no epoch");
}

// Every tensor of two safetensors files, bit for bit.
void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const safetensors::Contents a = safetensors::load(a_path), b = safetensors::load(b_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size()) << a_path << " vs " << b_path;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(testing::to_doubles(a.tensors[i].tensor), testing::to_doubles(b.tensors[i].tensor))
        << b_path << ": " << a.tensors[i].name;
  }
}

// SIGKILL at 20 moments drawn from a fixed seed: after a training step, inside
// an atomic write (with half of the temporary written, or all of it just
// before the rename) or after an epoch; the hooks (tools/crash_hooks.h) make
// every moment, and so the whole test, reproducible. After each kill the
// run folder holds a checkpoint that loads, or, killed before its config.yaml
// was written, no run at all; --resume (or a fresh start) continues, and every
// finished run equals the uninterrupted one: metrics, last and best weights.
TEST_F(Cli, RunKilledAtRandomMomentsResumesToTheUninterruptedRun) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(train("whole", "--epochs 3").status, 0);
  const std::vector<std::string> whole = metric_rows(path("whole"));
  ASSERT_EQ(whole.size(), 4u);
  // 96 images in batches of 32: 3 steps an epoch. Atomic writes: 3 when a run
  // starts, at most 6 when it resumes, at most 7 per epoch; 2 hook calls each.
  const int epochs = 3, steps_per_epoch = 3;
  std::mt19937 rng(9);
  const auto draw = [&](int n) { return 1 + static_cast<int>(rng() % static_cast<unsigned>(n)); };
  int kills = 0, kills_in_writes = 0, kills_in_checkpoint_writes = 0, runs = 0;
  while (kills < 20) {
    const std::string name = "killed" + std::to_string(++runs), dir = path(name);
    int epoch = 0;
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 40) << dir << " makes no progress";
      const bool started = fs::exists(dir + "/config.yaml");
      const int left = epochs - epoch;
      // A moment in this process's work up to the end of its first epoch, so
      // every stage is hit; once every epoch is trained, half of the time none
      // (the resume then only rewrites the derived files and finishes).
      std::string env;
      if (left == 0) {
        if (rng() % 2 == 0) env = "RETORT_KILL_IN_WRITE=" + std::to_string(draw(2 * 6));
      } else {
        switch (rng() % 4) {
          case 0: env = "RETORT_KILL_AFTER_STEP=" + std::to_string(draw(steps_per_epoch)); break;
          case 1: env = "RETORT_KILL_AFTER_EPOCH=" + std::to_string(epoch + 1); break;
          default: env = "RETORT_KILL_IN_WRITE=" + std::to_string(draw(2 * ((started ? 6 : 3) + 7)));
        }
      }
      const testing::CliRun r = started ? run_retort("train --resume '" + dir + "' --threads 1", env)
                                        : train(name, "--epochs 3", env);
      if (r.status == 0) break;  // no kill drawn, or its moment came after the end: the run finished
      ASSERT_TRUE(killed_by_sigkill(r)) << env << ": status " << r.status << "\n" << r.err;
      ++kills;
      if (env.rfind("RETORT_KILL_IN_WRITE", 0) == 0) {
        ++kills_in_writes;
        for (const auto& e : fs::directory_iterator(dir))  // the writes come after the stale temporaries went
          if (e.path().filename().string().find(".safetensors.tmp.") != std::string::npos) ++kills_in_checkpoint_writes;
      }
      if (!fs::exists(dir + "/config.yaml")) {
        ASSERT_FALSE(started) << env << ": the run folder lost its config.yaml";
        continue;
      }
      int now = -1;
      ASSERT_NO_THROW(now = loadable_checkpoint_epoch(dir)) << env << " left no loadable checkpoint in " << dir;
      ASSERT_GE(now, epoch) << env << ": the checkpoint went back";
      epoch = now;
    }
    EXPECT_EQ(metric_rows(dir), whole) << dir;
    expect_same_tensors(path("whole/last.safetensors"), dir + "/last.safetensors");
    expect_same_tensors(path("whole/best.safetensors"), dir + "/best.safetensors");
    for (const auto& e : fs::directory_iterator(dir))
      EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "left behind: " << e.path();
  }
  EXPECT_GE(kills_in_writes, 5);
  EXPECT_GE(kills_in_checkpoint_writes, 3);  // a weights or resume temporary was left half or fully written
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d kills (%d inside atomic writes, %d of them of checkpoints) over %d runs, %.1f s\n", kills,
              kills_in_writes, kills_in_checkpoint_writes, runs, seconds);
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
