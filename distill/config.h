// Experiment configuration: a flat, ordered set of dotted keys ("optim.lr")
// with string values, read from a YAML file and `--set key=value` overrides,
// validated against a schema (unknown keys are errors that suggest the
// nearest key), and written back as the resolved config of a run.
//
// The YAML reader accepts the subset configs use, and nothing else silently:
// nested block mappings by indentation, scalars (plain, 'single' or "double"
// quoted), flow lists [a, b] and block lists (- item), '#' comments. Anchors,
// tags, multi-line scalars and flow mappings are rejected with the line number.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace retort {
namespace distill {

struct ConfigKey {
  std::string key;            // dotted, e.g. "optim.lr"
  std::string default_value;  // lists are comma-separated: "150,180,210"
  std::string help;
};

class Config {
 public:
  Config() = default;
  // The schema with every default filled in.
  explicit Config(const std::vector<ConfigKey>& schema);

  bool has(const std::string& key) const;
  const std::string& get(const std::string& key) const;  // throws for an unknown key
  double get_double(const std::string& key) const;       // throws naming the key on a bad number
  int64_t get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;           // true/false/1/0/yes/no
  std::vector<double> get_list(const std::string& key) const;  // comma-separated numbers, may be empty

  // Sets a known key; an unknown one throws naming the nearest known key.
  // Keys under an open prefix (see allow_prefix) are accepted as they come.
  void set(const std::string& key, const std::string& value);
  // "key=value".
  void set_assignment(const std::string& assignment);
  // Keys starting with `prefix` (e.g. "method.") need not be in the schema;
  // their validity is checked elsewhere (the method's options).
  void allow_prefix(const std::string& prefix) { open_prefixes_.push_back(prefix); }

  // Reads YAML text (`source` names the file in errors) and sets every key it holds.
  void merge_yaml(const std::string& text, const std::string& source);
  // The resolved config as YAML (nested by the dots).
  std::string to_yaml() const;
  // Key/value pairs in schema order (then the open keys in insertion order).
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
  std::vector<std::string> open_prefixes_;
};

// Parses the YAML subset into flat dotted key/value pairs (lists joined with ',').
std::vector<std::pair<std::string, std::string>> parse_yaml(const std::string& text, const std::string& source);

}  // namespace distill
}  // namespace retort
