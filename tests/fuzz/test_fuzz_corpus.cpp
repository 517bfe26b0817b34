// The fuzz targets without libFuzzer: every file of every seed corpus
// (tests/fuzz/corpus/<target>/, which also keeps each input a fuzzer ever
// found) runs through its target, and nothing but a retort::Error may come
// out. Under `make test-asan` this also rules out bad reads and leaks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "data/decode.h"
#include "data/gzip.h"
#include "tensor/error.h"
#include "tensor/file_io.h"
#include "tests/fuzz/targets.h"

namespace retort {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  void (*run)(const uint8_t*, size_t);
};
// gtest (and so ctest's test names) shows a target by its name.
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

#define RETORT_FUZZ_ENTRY(name) Target{#name, retort_fuzz_##name},
const std::vector<Target> kTargets = {RETORT_FUZZ_TARGETS(RETORT_FUZZ_ENTRY)};
#undef RETORT_FUZZ_ENTRY

const fs::path kFuzzDir = fs::path(RETORT_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzCorpus, EveryTargetHasASourceAndACorpusAndNothingElseDoes) {
  std::set<std::string> names, sources, corpora;
  for (const Target& t : kTargets) names.insert(t.name);
  for (const fs::path& f : files_in(kFuzzDir)) {
    const std::string stem = f.stem().string();
    if (stem.rfind("fuzz_", 0) == 0 && f.extension() == ".cpp") sources.insert(stem.substr(5));
  }
  for (const fs::directory_entry& e : fs::directory_iterator(kFuzzDir / "corpus"))
    if (e.is_directory()) corpora.insert(e.path().filename().string());
  EXPECT_EQ(sources, names) << "tests/fuzz/fuzz_<name>.cpp files vs RETORT_FUZZ_TARGETS in targets.h";
  EXPECT_EQ(corpora, names) << "tests/fuzz/corpus/<name>/ folders vs RETORT_FUZZ_TARGETS in targets.h";
}

class FuzzCorpus : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzCorpus, EveryInputEndsInSuccessOrARetortError) {
  const fs::path dir = kFuzzDir / "corpus" / GetParam().name;
  const std::vector<fs::path> files = files_in(dir);
  ASSERT_FALSE(files.empty()) << dir << " holds no seed inputs";
  size_t refused = 0;
  for (const fs::path& f : files) {
    const std::string bytes = read_file(f.string());
    try {
      GetParam().run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const Error& e) {
      ++refused;
      std::printf("refused %s: %s\n", f.filename().c_str(), e.message().c_str());
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": " << e.what();
    } catch (...) {
      ADD_FAILURE() << f << ": an exception that is not a std::exception";
    }
  }
  // The seeds are mostly valid files: a reader that refuses all of them has
  // broken, unless this build lacks the library it needs.
  const std::string name = GetParam().name;
  if ((name == "idx_gzip" && !data::have_zlib()) || (name == "image" && !data::have_stb())) return;
  EXPECT_LT(refused, files.size()) << "every input of " << dir << " was refused";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace retort
