// The property both config targets check: a config that validates writes a
// resolved YAML (a run's config.yaml) that loads back to the same keys and
// values, as `retort train --resume` needs.
#pragma once
#include <stdexcept>
#include <string>

#include "distill/config.h"
#include "distill/settings.h"
#include "tensor/error.h"

namespace retort {
namespace fuzz {

inline void check_resolves_again(const distill::Config& config) {
  distill::TrainSettings::from_config(config);  // an Error here: the config is refused, fine
  const std::string yaml = config.to_yaml();
  distill::Config again = distill::default_config();
  try {
    again.merge_yaml(yaml, "config.yaml");
    distill::TrainSettings::from_config(again);
  } catch (const Error& e) {
    throw std::logic_error("a valid config's own YAML does not load: " + e.message() + "\n" + yaml);
  }
  if (again.items() != config.items())
    throw std::logic_error("a valid config's own YAML loads to different values:\n" + yaml);
}

}  // namespace fuzz
}  // namespace retort
