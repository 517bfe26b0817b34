// The table of distillation methods: one row per objective, in the order of
// METHODS.md's plan. An explicit list of calls (no static registration, which
// static libraries drop); each objective's header declares its row function.
#include <string>
#include <vector>

#include "distill/bpkd.h"
#include "distill/cmkd.h"
#include "distill/cskd.h"
#include "distill/cskd_full.h"
#include "distill/ctkd.h"
#include "distill/dist.h"
#include "distill/dkd.h"
#include "distill/dtkd.h"
#include "distill/kd.h"
#include "distill/stkd.h"
#include "distill/objective.h"
#include "tensor/text.h"

namespace retort {
namespace distill {

namespace {

std::vector<MethodInfo> build_table() {
  std::vector<MethodInfo> t;
  t.push_back(cskd_method());
  t.push_back(cskd_full_method());
  t.push_back(dtkd_method());
  t.push_back(dkd_method());
  t.push_back(dist_method());
  t.push_back(cmkd_method());
  t.push_back(stkd_method());
  t.push_back(bpkd_method());
  t.push_back(kd_method());
  t.push_back(ctkd_method());
  return t;
}

}  // namespace

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> table = build_table();
  return table;
}

const MethodInfo& find_method(const std::string& name) {
  std::vector<std::string> names;
  for (const MethodInfo& m : methods()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  RETORT_FAIL("unknown distillation method '" << name << "'" << did_you_mean(name, names) << "; methods: " << known);
}

}  // namespace distill
}  // namespace retort
