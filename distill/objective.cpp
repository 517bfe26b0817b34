#include "distill/objective.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "tensor/error.h"
#include "tensor/text.h"

namespace retort {
namespace distill {

namespace {

std::string joined_names(const std::vector<std::pair<std::string, double>>& values) {
  std::string s;
  for (const auto& v : values) s += (s.empty() ? "" : ", ") + v.first;
  return s.empty() ? "none" : s;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

double LossResult::term(const std::string& name) const {
  for (const auto& t : terms)
    if (t.first == name) return t.second;
  std::vector<std::string> names;
  for (const auto& t : terms) names.push_back(t.first);
  RETORT_FAIL("loss has no term '" << name << "'" << did_you_mean(name, names) << "; terms: "
                                   << joined_names(terms));
}

Options::Options(std::string method, const std::vector<OptionSpec>& specs) : method_(std::move(method)) {
  for (const OptionSpec& s : specs) values_.emplace_back(s.name, s.default_value);
}

double Options::get(const std::string& name) const {
  for (const auto& v : values_)
    if (v.first == name) return v.second;
  std::vector<std::string> names;
  for (const auto& v : values_) names.push_back(v.first);
  RETORT_FAIL(method_ << ": unknown option '" << name << "'" << did_you_mean(name, names)
                      << "; options: " << joined_names(values_));
}

void Options::set(const std::string& name, double value) {
  for (auto& v : values_) {
    if (v.first != name) continue;
    RETORT_CHECK(std::isfinite(value), method_ << ": option " << name << " expects a finite number, found " << value);
    v.second = value;
    return;
  }
  std::vector<std::string> names;
  for (const auto& v : values_) names.push_back(v.first);
  RETORT_FAIL(method_ << ": unknown option '" << name << "'" << did_you_mean(name, names)
                      << "; options: " << joined_names(values_));
}

void Options::set_from_string(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  RETORT_CHECK(eq != std::string::npos,
               method_ << ": expected an option as key=value, found '" << assignment << "'");
  const std::string key = trim(assignment.substr(0, eq));
  const std::string text = trim(assignment.substr(eq + 1));
  RETORT_CHECK(!key.empty(), method_ << ": expected an option name before '=' in '" << assignment << "'");
  RETORT_CHECK(!text.empty(), method_ << ": expected a value after '=' in '" << assignment << "'");
  get(key);  // an unknown key is reported before a bad value
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  RETORT_CHECK(end != text.c_str() && *end == '\0' && errno != ERANGE && std::isfinite(value),
               method_ << ": option " << key << " expects a finite number, found '" << text << "'");
  set(key, value);
}

Options MethodInfo::for_pair(const std::string& teacher, const std::string& student) const {
  Options o = defaults();
  for (const PairOverride& p : pair_overrides) {
    if (p.teacher != teacher || p.student != student) continue;
    for (const auto& v : p.values) o.set(v.first, v.second);
    break;
  }
  return o;
}

}  // namespace distill
}  // namespace retort
