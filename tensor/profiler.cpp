#include "tensor/profiler.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

namespace retort {
namespace profiler {

namespace {

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, OpTime>& table() {
  static std::map<std::string, OpTime> t;
  return t;
}
thread_local Scope* current = nullptr;

}  // namespace

void set_enabled(bool on) { enabled_flag().store(on, std::memory_order_relaxed); }

void Scope::open() {
  // An op that calls itself (copy_ through clone) is one call of one op.
  if (current != nullptr && std::strcmp(current->name_, name_) == 0) {
    name_ = nullptr;
    return;
  }
  parent_ = current;
  current = this;
  start_ = std::chrono::steady_clock::now();
}

void Scope::close() {
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  current = parent_;
  if (parent_ != nullptr) parent_->children_ += total;
  std::lock_guard<std::mutex> lock(table_mutex());
  OpTime& t = table()[name_];
  t.name = name_;
  t.calls += 1;
  t.seconds += total - children_;
}

std::vector<OpTime> snapshot() {
  std::lock_guard<std::mutex> lock(table_mutex());
  std::vector<OpTime> out;
  for (const auto& kv : table()) out.push_back(kv.second);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}

void reset() {
  std::lock_guard<std::mutex> lock(table_mutex());
  table().clear();
}

}  // namespace profiler
}  // namespace retort
