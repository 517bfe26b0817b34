// `retort data` as a user runs it: exit 0 on good input, 2 with one clear
// line on bad input.
#include <gtest/gtest.h>



#include "data/decode.h"
#include "tensor/safetensors.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::cifar_records;
using testing::idx_bytes;
using testing::png_bytes;
using testing::TempDir;
using testing::write_bytes;

using testing::CliRun;

CliRun run(const TempDir&, const std::string& args) { return testing::run_retort("data " + args); }

void expect_bad_input(const TempDir&, const std::string& args, const std::vector<std::string>& needles) {
  EXPECT_TRUE(testing::failed_with(testing::run_retort("data " + args), needles)) << args;
}

TEST(DataCommand, PrintsTheSummaryOfAGoodDataSet) {
  TempDir tmp;
  const CliRun r = run(tmp, "synthetic:classes=3,size=8,n=30 --split test");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("samples     30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classes     3"), std::string::npos);
  EXPECT_NE(r.out.find("image       8x8x3"), std::string::npos);
  EXPECT_NE(r.out.find("class_2                  10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pixel mean"), std::string::npos);
  EXPECT_NE(r.out.find("pixel std"), std::string::npos);
  EXPECT_EQ(run(tmp, "--help").status, 0);
}

TEST(DataCommand, BadInputExitsTwoWithOneLine) {
  TempDir tmp;
  expect_bad_input(tmp, "nope:x", {"unknown kind 'nope'"});
  expect_bad_input(tmp, "cifar10:" + (tmp / "absent"), {tmp / "absent", "does not exist"});
  expect_bad_input(tmp, "synthetic --split sideways", {"--split"});
  expect_bad_input(tmp, "synthetic --dump 3", {"--out"});
  expect_bad_input(tmp, "synthetic --bogus", {"unknown option --bogus"});

  // Truncated CIFAR file; record count against the file size.
  for (int b = 1; b <= 5; ++b) write_bytes(tmp / ("c10/data_batch_" + std::to_string(b) + ".bin"), cifar_records({{1}}));
  write_bytes(tmp / "c10/test_batch.bin", cifar_records({{1}, {2}}).substr(0, 5000));
  expect_bad_input(tmp, "cifar10:" + (tmp / "c10") + " --split test", {tmp / "c10/test_batch.bin", "truncated"});
  // Label out of range.
  write_bytes(tmp / "c10/test_batch.bin", cifar_records({{11}}));
  expect_bad_input(tmp, "cifar10:" + (tmp / "c10") + " --split test", {"label 11 of record 0"});
  // Wrong IDX magic.
  write_bytes(tmp / "m/train-images-idx3-ubyte", idx_bytes({1}, {0}));
  write_bytes(tmp / "m/train-labels-idx1-ubyte", idx_bytes({1}, {0}));
  expect_bad_input(tmp, "mnist:" + (tmp / "m"), {tmp / "m/train-images-idx3-ubyte", "wrong IDX magic"});
  // Image folders: empty class folder, zero-size image, undecodable image.
  std::filesystem::create_directories(tmp / "f/train/empty");
  write_bytes(tmp / "f/train/ok/a.png", png_bytes(2, 2, 3, std::vector<uint8_t>(12, 5)));
  expect_bad_input(tmp, "imagefolder:" + (tmp / "f"), {tmp / "f/train/empty", "holds no image files"});
  write_bytes(tmp / "f/train/empty/zero.png", "");
  expect_bad_input(tmp, "imagefolder:" + (tmp / "f"), {tmp / "f/train/empty/zero.png", "empty image file"});
  write_bytes(tmp / "f/train/empty/zero.png", "garbage, not a PNG");
  expect_bad_input(tmp, "imagefolder:" + (tmp / "f"), {tmp / "f/train/empty/zero.png"});
}

TEST(DataCommand, DumpWritesTransformedSamples) {
  TempDir tmp;
  const std::string file = tmp / "dump.safetensors";
  CliRun r = run(tmp, "synthetic:classes=4,size=8,n=10 --dump 6 --out " + file + " --transform train --seed 3");
  ASSERT_EQ(r.status, 0) << r.err;
  const safetensors::Contents c = safetensors::load(file);
  const Tensor* images = c.find("images");
  const Tensor* labels = c.find("labels");
  ASSERT_NE(images, nullptr);
  ASSERT_NE(labels, nullptr);
  EXPECT_EQ(images->shape(), (Shape{6, 8, 8, 3}));
  EXPECT_EQ(labels->to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 0, 1}));
  // The same dump again is identical; another seed is not.
  const std::vector<float> first = images->to_vector<float>();
  ASSERT_EQ(run(tmp, "synthetic:classes=4,size=8,n=10 --dump 6 --out " + file + " --transform train --seed 3 --workers 0")
                .status,
            0);
  EXPECT_EQ(safetensors::load(file).find("images")->to_vector<float>(), first);
  ASSERT_EQ(run(tmp, "synthetic:classes=4,size=8,n=10 --dump 6 --out " + file + " --transform train --seed 4").status, 0);
  EXPECT_NE(safetensors::load(file).find("images")->to_vector<float>(), first);
  // --transform none: the pixels scaled to [0, 1].
  ASSERT_EQ(run(tmp, "synthetic:n=3 --dump 99 --out " + file + " --transform none").status, 0);
  const safetensors::Contents raw = safetensors::load(file);
  EXPECT_EQ(raw.find("images")->shape(), (Shape{3, 32, 32, 3}));
  for (float v : raw.find("images")->to_vector<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  bool has_spec = false;
  for (const auto& kv : raw.metadata) has_spec |= kv.first == "spec" && kv.second == "synthetic:n=3";
  EXPECT_TRUE(has_spec);
}

TEST(DataCommand, BenchReportsImagesPerSecond) {
  TempDir tmp;
  const CliRun r = run(tmp, "synthetic:size=8,n=64 --bench 2 --batch-size 16 --transform train,strong");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("steady state (epochs 1..2): median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images/s"), std::string::npos);
}

}  // namespace
}  // namespace retort
