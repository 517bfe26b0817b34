// An experiment config file: the YAML-subset parser alone (any keys), then
// the same text merged over the defaults, validated and checked to resolve
// again.
#include "distill/config.h"
#include "distill/settings.h"
#include "tests/fuzz/config_check.h"
#include "tests/fuzz/fuzz_target.h"

RETORT_FUZZ_TARGET(yaml_config) {
  namespace distill = retort::distill;
  const std::string text = retort::fuzz::as_string(data, size);
  distill::parse_yaml(text, "fuzz.yaml");
  distill::Config config = distill::default_config();
  config.merge_yaml(text, "fuzz.yaml");
  retort::fuzz::check_resolves_again(config);
}
