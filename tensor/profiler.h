// Per-op wall-clock profile for `retort bench --profile`. Each op front end in
// tensor/ops/ opens a Scope; when profiling is off a Scope costs one relaxed
// atomic load. Times are exclusive (an op that calls another op is charged
// only for its own part) and measured on the calling thread, which covers the
// op's whole parallel region; an op nested in itself counts once. CUDA ops are asynchronous: their times are
// launch times unless RETORT_CUDA_SYNC=1.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace retort {
namespace profiler {

void set_enabled(bool on);
inline std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline bool enabled() { return enabled_flag().load(std::memory_order_relaxed); }

struct OpTime {
  std::string name;
  int64_t calls = 0;
  double seconds = 0.0;  // exclusive
};

// Everything recorded since the last reset, slowest first.
std::vector<OpTime> snapshot();
void reset();

class Scope {
 public:
  explicit Scope(const char* name) : name_(enabled() ? name : nullptr) {
    if (name_ != nullptr) open();
  }
  ~Scope() {
    if (name_ != nullptr) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void open();
  void close();
  const char* name_;
  Scope* parent_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  double children_ = 0.0;
};

}  // namespace profiler
}  // namespace retort

#define RETORT_PROFILE_OP(name) ::retort::profiler::Scope retort_profile_scope_(name)
