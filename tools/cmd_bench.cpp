// retort bench: steady-state throughput of a training step, an inference pass
// or a distillation step on random images, with achieved GFLOP/s, peak memory
// and (--profile) where the step spends its time, op by op.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "distill/objective.h"
#include "distill/step.h"
#include "layers/models/zoo.h"
#include "optim/optimizer.h"
#include "tensor/allocator.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/json.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/profiler.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// GFLOP/s of one thread team on a square GEMM: the attainable peak that
// --peak stands in for when not given.
double measured_gemm_peak() {
  const int64_t n = 1024;
  Generator gen(1);
  const Tensor a = ops::randn(Shape{n, n}, gen), b = ops::randn(Shape{n, n}, gen);
  Tensor c = zeros(Shape{n, n});
  cpu::GemmArgs g;
  g.M = g.N = g.K = n;
  g.A = a.data<float>();
  g.lda = n;
  g.B = b.data<float>();
  g.ldb = n;
  g.C = c.data<float>();
  g.ldc = n;
  cpu::gemm_parallel(g);  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < 3; ++r) {
    const auto t = Clock::now();
    cpu::gemm_parallel(g);
    rates.push_back(2.0 * n * n * n / seconds_since(t) / 1e9);
  }
  return *std::max_element(rates.begin(), rates.end());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// This process's own high-water mark (VmHWM): ru_maxrss would carry over the
// peak of a parent that fork-exec'd us, e.g. a Python driver.
int64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;  // KiB on Linux
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  Args cli("retort bench --model NAME [--teacher NAME] [--mode train|infer|distill] [options]",
           "Times a training step (forward, backward, SGD update), an inference pass (evaluation\n"
           "mode, no graph) or a distillation step (frozen teacher + student + objective) on random\n"
           "images after a warm-up, and prints the median and range of images/s over the repeats,\n"
           "the achieved GFLOP/s (a training step counts 3x the forward multiply-adds, 2 FLOP each),\n"
           "its fraction of a peak and the peak resident memory. On a GPU (--device cuda) each repeat\n"
           "ends with a synchronisation, the peak memory is the device allocator's, and the fraction\n"
           "of peak needs --peak; --profile times ops as queued unless RETORT_CUDA_SYNC=1.",
           with_device_flags({{"model", "NAME", "the model (the student in distill mode)", "", false},
            {"teacher", "NAME", "the teacher of distill mode", "", false},
            {"mode", "MODE", "train, infer or distill", "train", false},
            {"method", "NAME", "the objective of distill mode", "kd", false},
            {"batch", "B", "images per step", "64", false},
            {"threads", "T", "threads (0: all cores)", "0", false},
            {"iters", "N", "steps per repeat", "10", false},
            {"repeats", "R", "timed repeats (median and range over them)", "5", false},
            {"warmup", "W", "untimed steps first", "3", false},
            {"size", "S", "image height and width", "32", false},
            {"channels", "C", "image channels", "3", false},
            {"classes", "K", "classifier size", "100", false},
            {"conv", "NAME", "convolution backend: onednn or builtin (default: onednn when built)", "", false},
            {"peak", "GFLOPS", "the peak to compare with (default: a measured 1024^3 GEMM)", "", false},
            {"profile", "", "after timing, one more repeat with the per-op breakdown", "", false},
            {"json", "", "print one JSON object instead of text", "", false}}));
  if (!cli.parse(args)) return 0;
  const std::string mode = cli.get("mode");
  if (mode != "train" && mode != "infer" && mode != "distill")
    throw UsageError("--mode expects train, infer or distill, found '" + mode + "'");
  if (cli.get("model").empty()) throw UsageError("--model is required (see retort models)");
  if ((mode == "distill") != cli.has("teacher"))
    throw UsageError(mode == "distill" ? "--mode distill needs --teacher" : "--teacher needs --mode distill");
  const int64_t batch = cli.get_int("batch"), iters = cli.get_int("iters"), repeats = cli.get_int("repeats");
  const int64_t warmup = cli.get_int("warmup"), size = cli.get_int("size"), channels = cli.get_int("channels");
  const int64_t classes = cli.get_int("classes"), threads = cli.get_int("threads");
  for (const char* f : {"batch", "iters", "repeats", "size", "channels", "classes"})
    if (cli.get_int(f) < 1) throw UsageError(std::string("--") + f + " expects a positive integer, found " + cli.get(f));
  if (warmup < 0 || threads < 0) throw UsageError("--warmup and --threads expect 0 or more");
  if (threads > 0) set_num_threads(static_cast<int>(threads));
  if (cli.has("conv")) cpu::set_conv_backend(cli.get("conv").c_str());
  const Device device = device_from_flags(cli);
  const bool peak_given = cli.has("peak");
  if (peak_given && !(cli.get_double("peak") > 0))
    throw UsageError("--peak expects a positive GFLOP/s, found " + cli.get("peak"));

  const Shape image{1, size, size, channels};
  auto student = layers::make_model(cli.get("model"), layers::ModelConfig{classes, channels, 0});
  std::unique_ptr<layers::Model> teacher;
  std::unique_ptr<distill::Objective> objective;
  if (mode == "distill") {
    teacher = layers::make_model(cli.get("teacher"), layers::ModelConfig{classes, channels, 1});
    teacher->eval();
    for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    const distill::MethodInfo& m = distill::find_method(cli.get("method"));
    objective = m.make(m.for_pair(cli.get("teacher"), cli.get("model")));
    teacher->to(device);
  }
  student->to(device);
  const int64_t student_macs = layers::count_macs(*student, image);
  const int64_t teacher_macs = teacher ? layers::count_macs(*teacher, image) : 0;
  // FLOP per image: forward 2*MACs, training 3x that; the teacher only runs
  // forward; two-view methods run both networks on each view. Backward-pass
  // KD's input-gradient ascent is not counted.
  const double views = objective && objective->needs().strong_view ? 2.0 : 1.0;
  const double flop_per_image =
      views * (2.0 * (mode == "infer" ? student_macs : 3 * student_macs) + 2.0 * static_cast<double>(teacher_macs));

  Generator gen(0);
  data::Batch b;
  b.images = ops::randn(Shape{batch, size, size, channels}, gen).to(device);
  b.views = {b.images};
  if (objective && objective->needs().strong_view) b.views.push_back(ops::randn(b.images.shape(), gen).to(device));
  b.labels = ops::randint(Shape{batch}, classes, gen).to(device);
  b.indices = ops::randperm(batch, gen);
  Generator step_rng(1);
  distill::StepContext ctx{*student, teacher.get(), objective.get(), step_rng, 0.0};
  std::unique_ptr<optim::SGD> sgd;
  if (mode != "infer") {
    optim::NamedParams params = student->named_parameters();
    if (objective)
      for (const auto& p : objective->parameters()) params.emplace_back("objective", p);
    sgd = std::make_unique<optim::SGD>(params, optim::SgdOptions{});
    student->train();
  } else {
    student->eval();
  }
  auto step = [&] {
    if (mode == "infer") {
      autograd::NoGradGuard no_grad;
      (*student)(autograd::Variable(b.images));
      return;
    }
    distill::StepResult r = distill::training_step(ctx, b, 1);
    sgd->zero_grad();
    r.loss.total.backward();
    sgd->step();
  };

  for (int64_t i = 0; i < warmup; ++i) step();
  synchronize(device);
  if (device.is_cuda()) allocator_for(device).reset_peak();
  std::vector<double> rates;
  for (int64_t r = 0; r < repeats; ++r) {
    const auto t = Clock::now();
    for (int64_t i = 0; i < iters; ++i) step();
    synchronize(device);
    rates.push_back(static_cast<double>(batch * iters) / seconds_since(t));
  }
  std::vector<profiler::OpTime> ops_time;
  double profiled_seconds = 0.0;
  if (cli.get_bool("profile")) {
    profiler::reset();
    profiler::set_enabled(true);
    const auto t = Clock::now();
    for (int64_t i = 0; i < iters; ++i) step();
    synchronize(device);
    profiled_seconds = seconds_since(t);
    profiler::set_enabled(false);
    ops_time = profiler::snapshot();
  }
  const double med = median(rates);
  const double lo = *std::min_element(rates.begin(), rates.end()), hi = *std::max_element(rates.begin(), rates.end());
  const double gflops = med * flop_per_image / 1e9;
  const double rss_mib = peak_rss_kib() / 1024.0;  // before the GEMM peak's matrices
  const double device_mib =
      device.is_cuda() ? static_cast<double>(allocator_for(device).stats().peak_bytes) / (1024.0 * 1024.0) : 0.0;
  // The CPU GEMM says nothing of a GPU's peak: there only --peak gives one (0: none).
  const double peak = peak_given ? cli.get_double("peak") : (device.is_cpu() ? measured_gemm_peak() : 0.0);

  const std::string what = mode == "distill" ? cli.get("teacher") + " -> " + cli.get("model") + " (" + cli.get("method") + ")"
                                             : cli.get("model");
  if (cli.get_bool("json")) {
    json::Value o = json::Value::object();
    o.set("model", cli.get("model"));
    o.set("teacher", cli.get("teacher"));
    o.set("mode", mode);
    o.set("method", mode == "distill" ? cli.get("method") : std::string());
    o.set("device", device.str());
    o.set("batch", json::Value(static_cast<double>(batch)));
    o.set("threads", json::Value(static_cast<double>(num_threads())));
    o.set("images_per_second", json::Value(med));
    o.set("images_per_second_min", json::Value(lo));
    o.set("images_per_second_max", json::Value(hi));
    o.set("gflops", json::Value(gflops));
    o.set("peak_gflops", json::Value(peak));
    o.set("peak_measured", json::Value(!peak_given && device.is_cpu()));
    o.set("peak_rss_mib", json::Value(rss_mib));
    if (device.is_cuda()) o.set("peak_device_mib", json::Value(device_mib));
    o.set("gemm_backend", std::string(cpu::gemm_backend()));
    o.set("conv_backend", std::string(cpu::conv_backend()));
    json::Value prof = json::Value::array();
    for (const profiler::OpTime& t : ops_time) {
      json::Value e = json::Value::object();
      e.set("op", t.name);
      e.set("calls_per_step", json::Value(static_cast<double>(t.calls) / iters));
      e.set("ms_per_step", json::Value(1e3 * t.seconds / iters));
      prof.push_back(e);
    }
    o.set("profile", prof);
    std::printf("%s\n", json::dump(o).c_str());
    return 0;
  }
  if (device.is_cpu())
    std::printf("%s %s, batch %lld, %d threads, %s GEMM, %s convolution\n", mode.c_str(), what.c_str(),
                static_cast<long long>(batch), num_threads(), cpu::gemm_backend(), cpu::conv_backend());
  else
    std::printf("%s %s, batch %lld, on %s\n", mode.c_str(), what.c_str(), static_cast<long long>(batch),
                device.str().c_str());
  std::printf("images/s   %.1f median (%.1f-%.1f over %lld repeats of %lld steps)\n", med, lo, hi,
              static_cast<long long>(repeats), static_cast<long long>(iters));
  if (peak > 0)
    std::printf("GFLOP/s    %.1f (%.1f%% of %s peak %.1f)\n", gflops, 100.0 * gflops / peak,
                peak_given ? "the given" : "a measured 1024^3 GEMM", peak);
  else
    std::printf("GFLOP/s    %.1f (no --peak given)\n", gflops);
  std::printf("peak RSS   %.1f MiB\n", rss_mib);
  if (device.is_cuda()) std::printf("peak GPU   %.1f MiB (the caching allocator's, in tensors)\n", device_mib);
  if (!ops_time.empty()) {
    double accounted = 0.0;
    for (const auto& t : ops_time) accounted += t.seconds;
    std::printf("\nper step (%.2f ms; ops exclusive, slowest first)\n%-26s %9s %10s %7s\n", 1e3 * profiled_seconds / iters,
                "op", "calls", "ms", "share");
    for (const auto& t : ops_time)
      std::printf("%-26s %9.1f %10.3f %6.1f%%\n", t.name.c_str(), static_cast<double>(t.calls) / iters,
                  1e3 * t.seconds / iters, 100.0 * t.seconds / profiled_seconds);
    std::printf("%-26s %9s %10.3f %6.1f%%\n", "(outside tensor/ops)", "",
                1e3 * (profiled_seconds - accounted) / iters, 100.0 * (profiled_seconds - accounted) / profiled_seconds);
  }
  return 0;
}

}  // namespace tools
}  // namespace retort
