// retort data: inspect a data set before a long run (sizes, classes, pixel
// statistics, the transforms its recipe applies), dump transformed samples to
// safetensors, or time the loader.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "data/loader.h"
#include "data/spec.h"
#include "data/stats.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tools/args.h"

namespace retort {
namespace tools {

namespace {

std::string joined(const std::vector<double>& v, int precision) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(precision);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
  return os.str();
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

void print_summary(const data::DataSource& src) {
  const data::Dataset& ds = *src.dataset;
  std::printf("data set    %s\n", ds.name().c_str());
  std::printf("spec        %s\n", src.spec.text.c_str());
  std::printf("samples     %lld\n", static_cast<long long>(ds.size()));
  std::printf("classes     %lld\n", static_cast<long long>(ds.num_classes()));
  const data::ImageShape s = ds.image_shape();
  if (s.fixed()) std::printf("image       %s (H x W x C, uint8)\n", s.str().c_str());
  else std::printf("image       sizes vary, %d channels (uint8)\n", s.channels);
  std::printf("normalise   %s\n", ds.normalization().str().c_str());
  std::printf("recipe      %s\n", src.recipe.name.c_str());
  std::printf("  train     %s\n", src.recipe.train.describe().c_str());
  std::printf("  test      %s\n", src.recipe.test.describe().c_str());
  std::printf("  strong    %s\n", src.recipe.strong.describe().c_str());
}

void print_class_counts(const data::Dataset& ds) {
  std::vector<int64_t> counts(static_cast<size_t>(ds.num_classes()), 0);
  for (int64_t i = 0; i < ds.size(); ++i) ++counts[static_cast<size_t>(ds.label(i))];
  std::printf("per class\n");
  for (size_t k = 0; k < counts.size(); ++k)
    std::printf("  %4zu  %-24s %lld\n", k, ds.classes()[k].c_str(), static_cast<long long>(counts[k]));
}

void print_pixel_stats(const data::Dataset& ds) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::SplitStats st = data::compute_stats(ds);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!ds.image_shape().fixed())
    std::printf("image size  height %d..%d, width %d..%d\n", st.min_height, st.max_height, st.min_width, st.max_width);
  std::printf("pixel mean  %s   (this split, [0, 1] scale)\n", joined(st.mean, 4).c_str());
  std::printf("pixel std   %s   (%.1f s)\n", joined(st.std, 4).c_str(), secs);
}

std::vector<data::Transform> views_from(const data::DataSource& src, const std::string& names) {
  std::vector<data::Transform> views;
  for (const std::string& n : split_commas(names)) views.push_back(src.transform(n));
  if (views.empty()) throw UsageError("option --transform expects NAME[,NAME...], found '" + names + "'");
  return views;
}

void dump(const data::DataSource& src, const Args& cli) {
  const int64_t n = std::min<int64_t>(cli.get_int("dump"), src.dataset->size());
  if (n < 1) throw UsageError("option --dump expects a positive count");
  if (!cli.has("out")) throw UsageError("--dump needs --out FILE.safetensors");
  const std::vector<data::Transform> views = views_from(src, cli.get("transform"));
  if (views.size() != 1) throw UsageError("--dump writes one transform; give --transform one name");
  data::LoaderOptions o;
  o.batch_size = std::min<int64_t>(n, 256);
  o.shuffle = false;
  o.workers = static_cast<int>(cli.get_int("workers"));
  o.seed = static_cast<uint64_t>(cli.get_int("seed"));
  data::Loader loader(src.dataset, views, o);
  const data::ImageShape s = loader.view_shapes()[0];
  Tensor images = empty(Shape{n, s.height, s.width, s.channels}, DType::F32);
  Tensor labels = empty(Shape{n}, DType::I64);
  loader.start_epoch(cli.get_int("epoch"));
  data::Batch b;
  int64_t done = 0;
  while (done < n && loader.next(b)) {
    const int64_t k = std::min(n - done, b.size());
    std::memcpy(images.data<float>() + done * s.numel(), b.images.data<float>(), sizeof(float) * k * s.numel());
    std::memcpy(labels.data<int64_t>() + done, b.labels.data<int64_t>(), sizeof(int64_t) * k);
    done += k;
  }
  json::Value classes = json::Value::array();
  for (const std::string& c : src.dataset->classes()) classes.push_back(c);
  const std::string out = cli.get("out");
  safetensors::save(out, {{"images", images}, {"labels", labels}},
                    {{"spec", src.spec.text},
                     {"split", data::split_name(src.split)},
                     {"transform", views[0].describe()},
                     {"layout", "NHWC"},
                     {"seed", cli.get("seed")},
                     {"epoch", cli.get("epoch")},
                     {"classes", json::dump(classes)}});
  std::printf("wrote %s: images f32 [%lld, %d, %d, %d], labels i64 [%lld]\n", out.c_str(), static_cast<long long>(n),
              s.height, s.width, s.channels, static_cast<long long>(n));
}

void bench(const data::DataSource& src, const Args& cli, const Device& device) {
  const int64_t epochs = cli.get_int("bench");
  if (epochs < 1) throw UsageError("option --bench expects a positive number of epochs");
  const std::vector<data::Transform> views = views_from(src, cli.get("transform"));
  data::LoaderOptions o;
  o.batch_size = cli.get_int("batch-size");
  o.workers = static_cast<int>(cli.get_int("workers"));
  o.seed = static_cast<uint64_t>(cli.get_int("seed"));
  o.device = device;  // on a GPU the batches arrive there, by asynchronous copies from pinned memory
  if (o.batch_size < 1) throw UsageError("option --batch-size expects a positive integer");
  data::Loader loader(src.dataset, views, o);
  std::printf("bench       %lld samples, batch %lld, %d workers, %zu view(s): %s, to %s\n",
              static_cast<long long>(src.dataset->size()), static_cast<long long>(o.batch_size), o.workers,
              views.size(), cli.get("transform").c_str(), device.str().c_str());
  std::vector<double> rates;
  for (int64_t e = 0; e <= epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    loader.start_epoch(e);
    data::Batch b;
    int64_t images = 0;
    double checksum = 0.0;  // touch the data, as a training step would
    while (loader.next(b)) {
      images += b.size();
      if (device.is_cpu()) checksum += b.images.data<float>()[0];
    }
    synchronize(device);  // the last copies have landed
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = static_cast<double>(images) / secs;
    if (e > 0) rates.push_back(rate);
    std::printf("epoch %-4lld  %8.3f s  %10.0f images/s%s\n", static_cast<long long>(e), secs, rate,
                e == 0 ? "   (first epoch: decodes, fills the cache)" : "");
    (void)checksum;
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  std::printf("steady state (epochs 1..%lld): median %.0f images/s, range %.0f..%.0f\n",
              static_cast<long long>(epochs), median, sorted.front(), sorted.back());
  if (const auto* folder = dynamic_cast<const data::ImageFolder*>(src.dataset.get()))
    std::printf("cache       %lld of %lld images decoded in memory (%.1f MB)\n",
                static_cast<long long>(folder->cached_images()), static_cast<long long>(folder->size()),
                static_cast<double>(folder->cached_bytes()) / (1 << 20));
}

}  // namespace

int cmd_data(const std::vector<std::string>& args) {
  Args cli("retort data [DATASPEC] [options]",
           std::string("Checks a data set before a long run: prints its size, classes, image shape, normalisation\n"
                       "constants and recipe, the per-class counts and the per-channel pixel mean/std of the split.\n"
                       "--dump writes the first N transformed samples (unshuffled) as safetensors `images`\n"
                       "(f32 NHWC) and `labels` (i64); --bench times the loader. DATASPEC defaults to fashion-mnist.\n\n") +
               data::spec_help(),
           with_device_flags({
               {"split", "train|test", "which split", "train"},
               {"no-pixel-stats", "", "skip the pass over every image (implied by --dump and --bench)", ""},
               {"dump", "N", "write the first N transformed samples to --out", ""},
               {"out", "FILE", "the .safetensors file --dump writes", ""},
               {"transform", "NAME[,NAME]", "default, train, test, strong or none; --bench takes a list of views",
                "default"},
               {"seed", "S", "seed of the shuffle and of the augmentation", "0"},
               {"epoch", "E", "the epoch whose augmentation --dump shows", "0"},
               {"bench", "EPOCHS", "time EPOCHS loader epochs after a first (decoding) one", ""},
               {"batch-size", "N", "batch size of --bench", "64"},
               {"workers", "N", "loader worker threads (0: load on the calling thread)", "2"},
           }),
           0, 1);
  if (!cli.parse(args)) return 0;
  const std::string spec = cli.positional().empty() ? "fashion-mnist" : cli.positional()[0];
  data::Split split;
  try {
    split = data::parse_split(cli.get("split"));
  } catch (const Error& e) {
    throw UsageError("option --split: " + e.message());
  }
  if (cli.get_int("seed") < 0 || cli.get_int("epoch") < 0) throw UsageError("--seed and --epoch must be >= 0");
  if (cli.get_int("workers") < 0) throw UsageError("option --workers expects an integer >= 0");
  if (cli.has("out") && !cli.has("dump")) throw UsageError("--out goes with --dump N");
  const Device device = device_from_flags(cli);

  const data::DataSource src = data::open_dataset(spec, split);
  print_summary(src);
  const bool quick = cli.has("dump") || cli.has("bench") || cli.has("no-pixel-stats");
  print_class_counts(*src.dataset);
  if (!quick) print_pixel_stats(*src.dataset);
  if (cli.has("dump")) dump(src, cli);
  if (cli.has("bench")) bench(src, cli, device);
  std::fflush(stdout);
  return 0;
}

}  // namespace tools
}  // namespace retort
