// retort loss: evaluates one distillation objective on logits stored in
// safetensors files, prints the total and its terms, and writes the gradient
// with respect to the student logits. `retort loss --list` shows every method.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "distill/objective.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tools/args.h"

namespace retort {
namespace tools {

namespace {

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void print_list() {
  for (const distill::MethodInfo& m : distill::methods()) {
    std::printf("%s: %s\n", m.name.c_str(), m.title.c_str());
    std::printf("  provenance: %s\n", m.provenance.c_str());
    std::printf("  formula:    %s\n", m.formula.c_str());
    std::printf("  options:\n");
    for (const distill::OptionSpec& o : m.options) {
      std::string left = "    " + o.name + " = " + format_number(o.default_value);
      if (left.size() < 26) left.resize(26, ' ');
      std::printf("%s %s\n", left.c_str(), o.help.c_str());
    }
    if (!m.pair_overrides.empty()) {
      std::printf("  pair overrides (reference configs):\n");
      for (const distill::PairOverride& p : m.pair_overrides) {
        std::string values;
        for (const auto& v : p.values) values += " " + v.first + "=" + format_number(v.second);
        std::printf("    %s -> %s:%s\n", p.teacher.c_str(), p.student.c_str(), values.c_str());
      }
    }
    const distill::StepNeeds needs = m.make(m.defaults())->needs();
    if (needs.strong_view) std::printf("  inputs: logits_strong in --student and --teacher (second view)\n");
    if (needs.mixup) std::printf("  inputs: labels_b and mix_lambda in --labels (mixup partners)\n");
    if (needs.aux_samples) std::printf("  inputs: logits_aux in --student and --teacher (auxiliary samples)\n");
    std::printf("\n");
  }
}

// The tensor `name` of a loaded file, with its dtype and rank checked.
Tensor tensor_from(const safetensors::Contents& c, const std::string& path, const std::string& name, DType dtype,
                   int ndim) {
  const Tensor* t = c.find(name);
  if (t == nullptr) {
    std::string found;
    for (const auto& nt : c.tensors) found += (found.empty() ? "" : ", ") + nt.name;
    RETORT_FAIL(path << ": no tensor '" << name << "' (found: " << (found.empty() ? "none" : found) << ")");
  }
  RETORT_CHECK(t->dtype() == dtype,
               path << ": tensor '" << name << "' must be " << dtype_name(dtype) << ", found " << dtype_name(t->dtype()));
  RETORT_CHECK(t->ndim() == ndim, path << ": tensor '" << name << "' must have " << ndim << " dimension"
                                       << (ndim == 1 ? "" : "s") << ", found shape " << t->shape());
  return *t;
}

}  // namespace

int cmd_loss(const std::vector<std::string>& args) {
  Args cli("retort loss --method NAME --student S.safetensors --teacher T.safetensors [options] | retort loss --list",
           "Evaluates a distillation objective on stored logits: reads f32 `logits` [B, C] from the\n"
           "student and teacher files and i64 `labels` [B] from the labels file, prints the total\n"
           "training loss of the method (cross-entropy included, default weights unless --set) and\n"
           "each of its weighted terms, and writes the f32 gradient of the total with respect to the\n"
           "student logits as `grad` (two-view methods also `grad_strong`, auxiliary-sample methods\n"
           "`grad_aux`, objectives with learnable parameters `grad_param0`, ...). Two-view methods read\n"
           "`logits_strong` from both files; mixup methods `labels_b` (i64) and `mix_lambda` (f32,\n"
           "one value) from the labels file; auxiliary-sample methods `logits_aux` from both files.",
           with_device_flags({
               {"method", "NAME", "objective name (see --list)", "", false},
               {"student", "FILE", "safetensors file with the student's f32 `logits`", "", false},
               {"teacher", "FILE", "safetensors file with the teacher's f32 `logits`", "", false},
               {"labels", "FILE", "safetensors file with i64 `labels` (needed when the method uses them)", "", false},
               {"epoch", "E", "current epoch, counted from 1 (warm-ups depend on it)", "1", false},
               {"set", "KEY=VALUE", "override one option of the method", "", true},
               {"grad-out", "FILE", "write the gradient w.r.t. the student logits to this safetensors file", "",
                false},
               {"json", "", "print {\"loss\": x, \"terms\": {...}} instead of text", "", false},
               {"list", "", "list every method with its options, defaults and provenance", "", false},
           }));
  if (!cli.parse(args)) return 0;
  if (cli.get_bool("list")) {
    print_list();
    return 0;
  }
  for (const char* required : {"method", "student", "teacher"})
    if (!cli.has(required)) throw UsageError(std::string("missing --") + required + " (or --list); see --help");

  const distill::MethodInfo& method = distill::find_method(cli.get("method"));
  distill::Options options = method.defaults();
  for (const std::string& s : cli.get_all("set")) options.set_from_string(s);
  const int64_t epoch = cli.get_int("epoch");
  if (epoch < 1) throw UsageError("--epoch counts from 1, found " + std::to_string(epoch));
  std::unique_ptr<distill::Objective> objective = method.make(options);
  const distill::StepNeeds needs = objective->needs();

  const Device device = device_from_flags(cli);
  const std::string spath = cli.get("student"), tpath = cli.get("teacher");
  const safetensors::Contents sfile = safetensors::load(spath), tfile = safetensors::load(tpath);
  distill::StepInputs in;
  in.epoch = static_cast<int>(epoch);
  in.student = autograd::Variable(tensor_from(sfile, spath, "logits", DType::F32, 2).to(device), true);
  in.teacher = tensor_from(tfile, tpath, "logits", DType::F32, 2).to(device);
  if (needs.strong_view) {
    in.student_strong = autograd::Variable(tensor_from(sfile, spath, "logits_strong", DType::F32, 2).to(device), true);
    in.teacher_strong = tensor_from(tfile, tpath, "logits_strong", DType::F32, 2).to(device);
  }
  if (needs.aux_samples) {
    in.student_aux = autograd::Variable(tensor_from(sfile, spath, "logits_aux", DType::F32, 2).to(device), true);
    in.teacher_aux = tensor_from(tfile, tpath, "logits_aux", DType::F32, 2).to(device);
  }
  if (cli.has("labels")) {
    const std::string lpath = cli.get("labels");
    const safetensors::Contents lfile = safetensors::load(lpath);
    in.labels = tensor_from(lfile, lpath, "labels", DType::I64, 1).to(device);
    if (needs.mixup) {
      in.labels_b = tensor_from(lfile, lpath, "labels_b", DType::I64, 1).to(device);
      const Tensor lam = tensor_from(lfile, lpath, "mix_lambda", DType::F32, 1);
      RETORT_CHECK(lam.numel() == 1, lpath << ": tensor 'mix_lambda' must hold one value, found shape " << lam.shape());
      in.mix_lambda = lam.item<float>();
    }
  } else if (needs.mixup) {
    throw UsageError("method " + method.name + " needs --labels with labels, labels_b and mix_lambda");
  }

  const distill::LossResult result = objective->compute(in);
  const double total = result.total.value().to(Device::cpu()).item<float>();
  if (cli.has("grad-out")) {
    std::vector<safetensors::NamedTensor> grads;
    // A view the loss does not depend on gets a zero gradient, so the file always has it.
    auto add_grad = [&](const char* name, const autograd::Variable& v) {
      if (!v.defined()) return;
      grads.push_back({name, v.grad().defined() ? v.grad().to(Device::cpu()) : zeros(v.shape())});
    };
    if (result.total.requires_grad()) result.total.backward();
    add_grad("grad", in.student);
    add_grad("grad_strong", in.student_strong);
    add_grad("grad_aux", in.student_aux);
    // Learnable parameters of the objective (CTKD's temperature logit), as their optimiser sees them.
    const std::vector<autograd::Variable> params = objective->parameters();
    for (size_t k = 0; k < params.size(); ++k) add_grad(("grad_param" + std::to_string(k)).c_str(), params[k]);
    safetensors::save(cli.get("grad-out"), grads, {{"method", method.name}});
  }

  if (cli.get_bool("json")) {
    json::Value terms = json::Value::object();
    // JSON has no NaN or infinity: a non-finite value is written as null.
    auto number = [](double v) { return std::isfinite(v) ? json::Value(v) : json::Value(); };
    for (const auto& t : result.terms) terms.set(t.first, number(t.second));
    json::Value out = json::Value::object();
    out.set("loss", number(total));
    out.set("terms", terms);
    std::printf("%s\n", json::dump(out).c_str());
  } else {
    std::printf("%s: loss %s\n", method.name.c_str(), format_number(total).c_str());
    for (const auto& t : result.terms) std::printf("  %-12s %s\n", t.first.c_str(), format_number(t.second).c_str());
  }
  return 0;
}

}  // namespace tools
}  // namespace retort
