#include "tools/crash_hooks.h"

#include <csignal>
#include <cstdlib>
#include <string>

#include "tensor/file_io.h"

namespace retort {
namespace tools {

namespace {

// The moment of each hook (0: never) and the events counted so far.
long kill_after_epoch = 0, kill_after_step = 0, kill_in_write = 0;
long steps = 0, write_events = 0;

long read_env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atol(v) : 0;
}

void write_hook(const std::string&, int) {
  if (++write_events == kill_in_write) std::raise(SIGKILL);
}

}  // namespace

void install_crash_hooks() {
  kill_after_epoch = read_env("RETORT_KILL_AFTER_EPOCH");
  kill_after_step = read_env("RETORT_KILL_AFTER_STEP");
  kill_in_write = read_env("RETORT_KILL_IN_WRITE");
  if (kill_in_write > 0) set_write_hook(write_hook);
}

void crash_hook_after_step() {
  if (kill_after_step > 0 && ++steps == kill_after_step) std::raise(SIGKILL);
}

void crash_hook_after_epoch(int epoch) {
  if (kill_after_epoch > 0 && epoch == kill_after_epoch) std::raise(SIGKILL);
}

}  // namespace tools
}  // namespace retort
