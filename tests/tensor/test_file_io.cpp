#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tensor/error.h"
#include "tensor/file_io.h"

namespace retort {
namespace {

namespace fs = std::filesystem;

template <class F>
::testing::AssertionResult throws_error_with(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    for (const std::string& p : parts)
      if (e.message().find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << e.message() << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-retort exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// Each test gets a fresh directory, removed afterwards.
class FileIO : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "retort_file_io_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
};

TEST_F(FileIO, WriteThenReadBinaryBytes) {
  std::string bytes;
  for (int i = 0; i < 70000; ++i) bytes += static_cast<char>((i * 7919) & 0xFF);  // includes NUL bytes
  write_file_atomic(path("data.bin"), bytes);
  EXPECT_EQ(read_file(path("data.bin")), bytes);
  EXPECT_EQ(entries(), std::vector<std::string>{"data.bin"});  // no temporary left behind
}

TEST_F(FileIO, EmptyFile) {
  write_file_atomic(path("empty"), "");
  EXPECT_EQ(read_file(path("empty")), "");
  EXPECT_EQ(fs::file_size(path("empty")), 0u);
}

TEST_F(FileIO, ReplacesExistingContent) {
  write_file_atomic(path("f.txt"), "a much longer first version of the file");
  write_file_atomic(path("f.txt"), "short");
  EXPECT_EQ(read_file(path("f.txt")), "short");
  for (int i = 0; i < 20; ++i) write_file_atomic(path("f.txt"), "version " + std::to_string(i));
  EXPECT_EQ(read_file(path("f.txt")), "version 19");
  EXPECT_EQ(entries(), std::vector<std::string>{"f.txt"});
}

TEST_F(FileIO, ReadMissingFileNamesPathAndReason) {
  const std::string missing = path("missing.safetensors");
  EXPECT_TRUE(throws_error_with([&] { read_file(missing); }, {missing, "No such file or directory"}));
}

TEST_F(FileIO, ReadDirectoryFails) {
  EXPECT_TRUE(throws_error_with([&] { read_file(dir_); }, {dir_, "Is a directory"}));
}

TEST_F(FileIO, WriteIntoMissingDirectoryFails) {
  const std::string target = path("no_such_dir/out.bin");
  EXPECT_TRUE(throws_error_with([&] { write_file_atomic(target, "x"); }, {target, "No such file or directory"}));
  EXPECT_TRUE(entries().empty());
}

TEST_F(FileIO, FailedRenameLeavesTargetAndNoTemporary) {
  // A non-empty directory cannot be replaced by a file: the rename fails.
  fs::create_directory(path("target"));
  write_file_atomic(path("target/inside"), "keep");
  EXPECT_TRUE(throws_error_with([&] { write_file_atomic(path("target"), "new"); }, {path("target"), "renaming"}));
  EXPECT_EQ(entries(), std::vector<std::string>{"target"});
  EXPECT_EQ(read_file(path("target/inside")), "keep");
}

TEST_F(FileIO, FailedWriteLeavesExistingFileUntouched) {
  write_file_atomic(path("ckpt"), "previous checkpoint");
  // Make the data write fail part-way (EFBIG) with a file size limit; this
  // works even for root, unlike permission bits.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const auto attempt = [&] { write_file_atomic(path("ckpt"), std::string(1 << 20, 'z')); };
  const ::testing::AssertionResult result = throws_error_with(attempt, {path("ckpt"), "writing the temporary"});
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(result);
  EXPECT_EQ(read_file(path("ckpt")), "previous checkpoint");
  EXPECT_EQ(entries(), std::vector<std::string>{"ckpt"});
}

TEST_F(FileIO, ConcurrentWritersNeverMixContents) {
  // Every reader sees one writer's complete content, whichever rename came last.
  const std::string target = path("shared");
  std::vector<std::string> versions;
  for (int t = 0; t < 4; ++t) versions.push_back(std::string(50000 + t, static_cast<char>('a' + t)));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) write_file_atomic(target, versions[t]);
    });
  for (std::thread& th : threads) th.join();
  const std::string final_content = read_file(target);
  EXPECT_NE(std::find(versions.begin(), versions.end(), final_content), versions.end());
  EXPECT_EQ(entries(), std::vector<std::string>{"shared"});
}


// What the crash-test hook saw at each stage: the target and the temporary.
struct HookView {
  int stage;
  std::string target, temporary;
};
std::vector<HookView> hook_views;
void record_hook(const std::string& path, int stage) {
  std::string temporary;
  const fs::path p(path);
  for (const auto& e : fs::directory_iterator(p.parent_path()))
    if (e.path().filename().string().rfind(p.filename().string() + ".tmp.", 0) == 0) temporary = read_file(e.path());
  hook_views.push_back({stage, read_file(path), temporary});
}

TEST_F(FileIO, WriteHookSeesAHalfThenAWholeTemporaryAndTheOldTarget) {
  write_file_atomic(path("ckpt"), "old");
  hook_views.clear();
  set_write_hook(record_hook);
  write_file_atomic(path("ckpt"), "0123456789");
  set_write_hook(nullptr);
  ASSERT_EQ(hook_views.size(), 2u);
  EXPECT_EQ(hook_views[0].stage, 1);
  EXPECT_EQ(hook_views[0].temporary, "01234");  // a torn temporary
  EXPECT_EQ(hook_views[0].target, "old");
  EXPECT_EQ(hook_views[1].stage, 2);
  EXPECT_EQ(hook_views[1].temporary, "0123456789");
  EXPECT_EQ(hook_views[1].target, "old");  // the rename comes after
  EXPECT_EQ(read_file(path("ckpt")), "0123456789");
  write_file_atomic(path("ckpt"), "no hook");
  EXPECT_EQ(hook_views.size(), 2u);
}

TEST_F(FileIO, RemoveStaleTemporariesRemovesOnlyThatFilesTemporaries) {
  write_file_atomic(path("ckpt"), "kept");
  write_file_atomic(path("ckpt.tmp.4242.0"), "a killed writer's");
  write_file_atomic(path("ckpt.tmp." + std::to_string(::getpid()) + ".7"), "an earlier process with our pid");
  write_file_atomic(path("other.tmp.4242.0"), "another file's");
  write_file_atomic(path("ckpt.tmp"), "not a temporary name");
  EXPECT_EQ(remove_stale_temporaries(path("ckpt")), 2);
  EXPECT_EQ(entries(), (std::vector<std::string>{"ckpt", "ckpt.tmp", "other.tmp.4242.0"}));
  EXPECT_EQ(remove_stale_temporaries(path("absent/ckpt")), 0);
}

}  // namespace
}  // namespace retort
