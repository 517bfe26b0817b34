// `--set KEY=VALUE` overrides: each line of the bytes is one, applied in order
// over the defaults as `retort train --set A --set B ...` does; a config that
// validates must resolve again from its own YAML.
#include <sstream>

#include "distill/config.h"
#include "distill/settings.h"
#include "tests/fuzz/config_check.h"
#include "tests/fuzz/fuzz_target.h"

RETORT_FUZZ_TARGET(set_override) {
  namespace distill = retort::distill;
  distill::Config config = distill::default_config();
  std::istringstream lines(retort::fuzz::as_string(data, size));
  for (std::string line; std::getline(lines, line);) config.set_assignment(line);
  retort::fuzz::check_resolves_again(config);
}
