#include "tools/args.h"

#include "tensor/text.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace retort {
namespace tools {

Args::Args(std::string usage, std::string description, std::vector<Flag> flags, int min_positional,
           int max_positional)
    : usage_(std::move(usage)),
      description_(std::move(description)),
      flags_(std::move(flags)),
      min_positional_(min_positional),
      max_positional_(max_positional) {}

const Flag* Args::find(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

bool Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (a.size() < 2 || a.compare(0, 2, "--") != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const Flag* f = find(name);
    if (f == nullptr) {
      std::vector<std::string> names;
      for (const Flag& fl : flags_) names.push_back(fl.name);
      const std::string guess = nearest(name, names);
      throw UsageError("unknown option --" + name + (guess.empty() ? "" : " (did you mean --" + guess + "?)") +
                       "; see --help");
    }
    if (f->value_name.empty()) {
      if (inline_value) throw UsageError("option --" + name + " takes no value");
      value = "1";
    } else if (!inline_value) {
      if (i + 1 >= argv.size()) throw UsageError("option --" + name + " expects a value " + f->value_name);
      value = argv[++i];
    }
    auto& slot = values_[name];
    if (!slot.empty() && !f->repeatable) throw UsageError("option --" + name + " given twice");
    slot.push_back(value);
  }
  const int n = static_cast<int>(positional_.size());
  if (n < min_positional_ || n > max_positional_) {
    if (max_positional_ == 0) throw UsageError("unexpected argument '" + positional_[0] + "'; see --help");
    throw UsageError("expected " + std::string(n < min_positional_ ? "more" : "fewer") +
                     " arguments (usage: " + usage_ + ")");
  }
  return true;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  const Flag* f = find(name);
  return f ? f->default_value : std::string();
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

int64_t Args::get_int(const std::string& name) const {
  const std::string v = get(name);
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') throw UsageError("option --" + name + " expects an integer, found '" + v + "'");
  return x;
}

double Args::get_double(const std::string& name) const {
  const std::string v = get(name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') throw UsageError("option --" + name + " expects a number, found '" + v + "'");
  return x;
}

bool Args::get_bool(const std::string& name) const { return has(name); }

std::string Args::help() const {
  std::string s = "usage: " + usage_ + "\n\n" + description_ + "\n";
  s += "\noptions:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    s += left + f.help;
    if (!f.default_value.empty()) s += " (default: " + f.default_value + ")";
    if (f.repeatable) s += " (repeatable)";
    s += "\n";
  }
  s += "  --help                    show this help\n";
  return s;
}

std::vector<Flag> with_device_flags(std::vector<Flag> flags) {
  flags.push_back({"device", "DEV", "auto (cuda when a GPU is present), cpu, cuda or cuda:K", "auto", false});
  flags.push_back({"allow-tf32", "", "let FP32 convolutions and GEMMs on CUDA use TF32 tensor cores", "", false});
  return flags;
}

Device device_from_flags(const Args& cli) {
  const Device device = resolve_device(cli.get("device"));
  set_cuda_allow_tf32(cli.get_bool("allow-tf32"));
  return device;
}

}  // namespace tools
}  // namespace retort
