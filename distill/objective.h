// The common shape of every distillation objective (METHODS.md) and the
// explicit table of methods used by configs and the command line.
//
// An objective maps student logits (a Variable, B x C), teacher logits (a
// constant Tensor, B x C), labels (i64, B), its options and the current epoch
// (counted from 1) to the total training loss, cross-entropy included, plus its
// named terms for the logs. Methods with extra inputs (a second view, mixup,
// auxiliary samples, a learnable temperature) take them through StepInputs.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace distill {

// The result of an objective: the differentiable total and its terms (already
// weighted as they enter the total, so they sum to it), e.g. {"ce", ...}, {"kd", ...}.
struct LossResult {
  autograd::Variable total;
  std::vector<std::pair<std::string, double>> terms;
  double term(const std::string& name) const;  // throws Error when absent
};

// One named numeric option of a method.
struct OptionSpec {
  std::string name;
  double default_value;
  std::string help;
};

// Resolved option values of one method; set() rejects unknown names and
// suggests the nearest one.
class Options {
 public:
  Options() = default;
  Options(std::string method, const std::vector<OptionSpec>& specs);
  double get(const std::string& name) const;
  void set(const std::string& name, double value);
  // Parses "key=value" and sets it.
  void set_from_string(const std::string& assignment);
  const std::string& method() const { return method_; }
  const std::vector<std::pair<std::string, double>>& values() const { return values_; }

 private:
  std::string method_;
  std::vector<std::pair<std::string, double>> values_;  // in declaration order
};

// Everything one training step can hand to an objective. Only student,
// teacher and labels are always present.
struct StepInputs {
  autograd::Variable student;  // B x C
  Tensor teacher;              // B x C, constant
  Tensor labels;               // i64 [B]
  int epoch = 1;               // counted from 1
  // Two-view recipes (CSKD full recipe): the strong view's logits.
  autograd::Variable student_strong;
  Tensor teacher_strong;
  // Mixup (STKD): labels_b are the partners' labels, mix_lambda the coefficient.
  Tensor labels_b;
  double mix_lambda = 1.0;
  // Auxiliary samples (backward-pass KD): logits of the student and the teacher on them.
  autograd::Variable student_aux;
  Tensor teacher_aux;
};

// What a method needs from the training step beyond one view.
struct StepNeeds {
  bool strong_view = false;   // a second, strongly augmented view (CSKD full recipe)
  bool mixup = false;         // mixed inputs and both label vectors (STKD)
  bool aux_samples = false;   // auxiliary samples by input-gradient ascent (backward-pass KD)
};

// A configured objective. Stateful methods (CTKD's learnable temperature)
// expose their parameters so the trainer hands them to the optimiser.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual LossResult compute(const StepInputs& in) = 0;
  virtual std::vector<autograd::Variable> parameters() { return {}; }
  virtual StepNeeds needs() const { return {}; }
  const Options& options() const { return options_; }

 protected:
  explicit Objective(Options options) : options_(std::move(options)) {}
  Options options_;
};

// Option values the reference uses for one teacher -> student pair.
struct PairOverride {
  std::string teacher, student;  // zoo names, e.g. "resnet32x4", "resnet8x4"
  std::vector<std::pair<std::string, double>> values;
};

struct MethodInfo {
  std::string name;        // "kd", "cskd", "cskd-full", "dkd", "dist", "dtkd", "ctkd", "cmkd", "stkd", "bpkd"
  std::string title;       // e.g. "CSKD + CSWT (core objective)"
  std::string provenance;  // "reference code: llieeai/lud ...", or "reconstruction"
  std::string formula;     // one line, for `retort loss --list` and docs/objectives.md
  std::vector<OptionSpec> options;
  std::vector<PairOverride> pair_overrides;
  std::function<std::unique_ptr<Objective>(const Options&)> make;
  Options defaults() const { return Options(name, options); }
  // The defaults with the reference's values for this pair applied, if it has any.
  Options for_pair(const std::string& teacher, const std::string& student) const;
};

// Every method, in the order of METHODS.md's plan. An explicit table: no static registration.
const std::vector<MethodInfo>& methods();
// Throws Error naming the unknown method and the nearest known one.
const MethodInfo& find_method(const std::string& name);

}  // namespace distill
}  // namespace retort
