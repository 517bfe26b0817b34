#include "tests/testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "autograd/engine.h"
#include "tensor/file_io.h"
#include "tensor/ops.h"

namespace retort {
namespace testing {

bool has_cuda() { return cuda_available(); }

std::string device_param_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cpu() ? "cpu" : "cuda";
}

std::vector<double> to_doubles(const Tensor& t) {
  const Tensor c = t.to(Device::cpu()).contiguous();
  std::vector<double> out(c.numel());
  for (int64_t i = 0; i < c.numel(); ++i) {
    switch (c.dtype()) {
      case DType::F32: out[i] = c.data<float>()[i]; break;
      case DType::I64: out[i] = static_cast<double>(c.data<int64_t>()[i]); break;
      case DType::U8: out[i] = c.data<uint8_t>()[i]; break;
    }
  }
  return out;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float scale) {
  Generator gen(seed);
  Tensor t = ops::randn(shape, gen);
  if (scale != 1.0f) ops::mul_(t, scale);
  return t;
}

::testing::AssertionResult close(const Tensor& actual, const std::vector<double>& expected, double atol, double rtol) {
  if (!actual.defined()) return ::testing::AssertionFailure() << "actual tensor is undefined";
  const std::vector<double> a = to_doubles(actual);
  if (a.size() != expected.size())
    return ::testing::AssertionFailure() << "actual " << actual.shape() << " has " << a.size()
                                         << " elements, expected " << expected.size();
  std::ostringstream first;
  int bad = 0;
  double worst = 0.0;
  size_t worst_i = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::fabs(a[i] - expected[i]);
    const bool ok = err <= atol + rtol * std::fabs(expected[i]) || (std::isnan(a[i]) && std::isnan(expected[i])) ||
                    (std::isinf(a[i]) && a[i] == expected[i]);
    if (!ok && !(err <= worst)) {
      worst = std::isnan(err) ? INFINITY : err;
      worst_i = i;
    }
    if (!ok && ++bad <= 5) first << "\n  [" << i << "] actual " << a[i] << ", expected " << expected[i] << " (error " << err << ")";
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.size() << " elements of " << actual.shape()
                                       << " differ beyond atol " << atol << " + rtol " << rtol << "; first:"
                                       << first.str() << "\n  largest error " << worst << " at [" << worst_i << "]";
}

::testing::AssertionResult close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (!expected.defined()) return ::testing::AssertionFailure() << "expected tensor is undefined";
  if (actual.defined() && actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << actual.shape() << ", expected " << expected.shape();
  return close(actual, to_doubles(expected), atol, rtol);
}

namespace {

// L = sum(f(x) * w) in double.
double projected(const GradFunction& f, const std::vector<autograd::Variable>& vars, const std::vector<double>& w) {
  autograd::NoGradGuard guard;
  const std::vector<double> out = to_doubles(f(vars).value());
  double s = 0.0;
  for (size_t i = 0; i < out.size(); ++i) s += out[i] * w[i];
  return s;
}

}  // namespace

::testing::AssertionResult grad_check(const GradFunction& f, const std::vector<Tensor>& inputs,
                                      const GradCheckOptions& opt) {
  std::vector<autograd::Variable> vars;
  for (const Tensor& t : inputs) vars.emplace_back(t.clone(), true);
  const autograd::Variable out = f(vars);
  const Tensor w = random_tensor(out.shape(), opt.seed + 1000);
  const std::vector<double> wd = to_doubles(w);
  autograd::backward({out}, {w.to(out.value().device())});

  Generator pick(opt.seed);
  std::ostringstream report;
  int failures = 0;
  double worst = 0.0;
  for (size_t k = 0; k < vars.size(); ++k) {
    const Tensor& g = vars[k].grad();
    if (!g.defined()) return ::testing::AssertionFailure() << "input " << k << " received no gradient";
    const std::vector<double> analytic = to_doubles(g);
    Tensor x = vars[k].value();  // perturbed in place below (CPU inputs)
    const int64_t n = x.numel();
    std::vector<int64_t> positions;
    if (n <= opt.max_positions) {
      for (int64_t i = 0; i < n; ++i) positions.push_back(i);
    } else {
      for (int i = 0; i < opt.max_positions; ++i) positions.push_back(static_cast<int64_t>(pick.next_below(n)));
    }
    int checked = 0;
    for (int64_t i : positions) {
      float* p = x.data<float>() + i;
      const float x0 = *p;
      const float xp = static_cast<float>(x0 + opt.eps), xm = static_cast<float>(x0 - opt.eps);
      const double l0 = projected(f, vars, wd);
      *p = xp;
      const double lp = projected(f, vars, wd);
      *p = xm;
      const double lm = projected(f, vars, wd);
      *p = x0;
      const double dp = static_cast<double>(xp) - x0, dm = static_cast<double>(x0) - xm;
      const double right = (lp - l0) / dp, left = (l0 - lm) / dm;
      const double central = (lp - lm) / (dp + dm);
      // A kink: one-sided slopes disagree by more than smooth curvature explains.
      if (std::fabs(right - left) > std::max(10 * opt.atol, 0.1 * std::max(std::fabs(right), std::fabs(left))))
        continue;
      ++checked;
      const double err = std::fabs(analytic[i] - central);
      if (err > opt.atol + opt.rtol * std::fabs(central)) {
        worst = std::max(worst, err);
        if (++failures <= 6)
          report << "\n  input " << k << " " << x.shape() << " [" << i << "]: analytic " << analytic[i]
                 << ", numeric " << central << " (error " << err << ")";
      }
    }
    if (checked == 0)
      return ::testing::AssertionFailure() << "input " << k << ": every sampled position was a kink; nothing checked";
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << failures << " gradient mismatches; first:" << report.str()
                                       << "\n  largest error " << worst;
}

CliRun run_retort(const std::string& args, const std::string& env) {
  char dir[] = "/tmp/retort-cli-XXXXXX";
  if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::string out = std::string(dir) + "/stdout", err = std::string(dir) + "/stderr";
  const std::string cmd = env + " '" + RETORT_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int raw = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : WIFSIGNALED(raw) ? -WTERMSIG(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  ::rmdir(dir);
  return r;
}

::testing::AssertionResult failed_with(const CliRun& run, const std::vector<std::string>& needles) {
  if (run.status != 2) return ::testing::AssertionFailure() << "exit status " << run.status << ", expected 2; stderr: " << run.err;
  if (run.err.empty() || run.err.find('\n') != run.err.size() - 1)
    return ::testing::AssertionFailure() << "expected one line on stderr, found: " << run.err;
  for (const std::string& n : needles)
    if (run.err.find(n) == std::string::npos) return ::testing::AssertionFailure() << "stderr lacks '" << n << "': " << run.err;
  return ::testing::AssertionSuccess();
}

}  // namespace testing
}  // namespace retort
