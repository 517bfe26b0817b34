// Command-line flags for the retort subcommands. A command declares its flags
// (name, value placeholder, help, default); parse() accepts "--name value",
// "--name=value", repeatable flags and positional arguments, and turns unknown
// flags or missing values into a UsageError that suggests the nearest flag.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tools/commands.h"

namespace retort {
namespace tools {

struct Flag {
  std::string name;        // without the leading "--"
  std::string value_name;  // empty for a boolean switch
  std::string help;
  std::string default_value;  // shown in --help; returned by get() when absent
  bool repeatable = false;
};

class Args {
 public:
  // `usage` is the first help line, e.g. "retort data DATASPEC [options]".
  Args(std::string usage, std::string description, std::vector<Flag> flags, int min_positional = 0,
       int max_positional = 0);

  // Returns false when --help was given (the help text is printed to stdout).
  bool parse(const std::vector<std::string>& argv);

  bool has(const std::string& name) const;  // given on the command line
  std::string get(const std::string& name) const;  // value or default
  std::vector<std::string> get_all(const std::string& name) const;  // repeatable flags
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool get_bool(const std::string& name) const;  // switches
  const std::vector<std::string>& positional() const { return positional_; }

  std::string help() const;

 private:
  const Flag* find(const std::string& name) const;

  std::string usage_, description_;
  std::vector<Flag> flags_;
  int min_positional_, max_positional_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// `flags` plus --device and --allow-tf32, the flags of every command that computes.
std::vector<Flag> with_device_flags(std::vector<Flag> flags);
// The device of --device (auto: cuda:0 when a GPU is present, else the CPU),
// checked usable, with --allow-tf32 applied.
Device device_from_flags(const Args& cli);

}  // namespace tools
}  // namespace retort
