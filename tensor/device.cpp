#include "tensor/device.h"

#include "tensor/error.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/runtime.h"
#endif

namespace retort {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5) {
    const std::string k = s.substr(5);
    bool digits = k.find_first_not_of("0123456789") == std::string::npos && k.size() < 4;
    if (digits) return cuda(std::stoi(k));
  }
  RETORT_FAIL("device: expected cpu, cuda or cuda:K, found '" << s << "'");
}

bool cuda_compiled() {
#ifdef RETORT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef RETORT_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

std::string cuda_device_name(int k) {
#ifdef RETORT_WITH_CUDA
  return cuda::device_name(k);
#else
  (void)k;
  return "";
#endif
}

std::string cuda_library_versions() {
#ifdef RETORT_WITH_CUDA
  return cuda::library_versions();
#else
  return "";
#endif
}

void check_device_usable(const Device& d) {
  if (d.is_cpu()) return;
  RETORT_CHECK(cuda_compiled(), "device " << d << ": this build has no CUDA backend (configure with RETORT_CUDA=ON)");
  const int n = cuda_device_count();
  RETORT_CHECK(n > 0, "device " << d << ": no GPU is present in this process (the CUDA driver reports none); "
                                   "use the CPU (device cpu)");
  RETORT_CHECK(d.index >= 0 && d.index < n,
               "device " << d << ": expected a CUDA device index below " << n << ", found " << d.index);
}

void synchronize(const Device& d) {
  if (d.is_cpu()) return;
  check_device_usable(d);
#ifdef RETORT_WITH_CUDA
  cuda::synchronize(d.index);
#endif
}

DeviceFence::~DeviceFence() {
#ifdef RETORT_WITH_CUDA
  if (event_ != nullptr) cuda::event_destroy(event_);
#endif
}

void DeviceFence::record(const Device& d) {
  if (d.is_cpu()) return;
#ifdef RETORT_WITH_CUDA
  if (event_ != nullptr && device_ != d.index) {
    cuda::event_destroy(event_);
    event_ = nullptr;
  }
  if (event_ == nullptr) event_ = cuda::event_create(d.index);
  device_ = d.index;
  cuda::event_record(event_, d.index);
  pending_ = true;
#endif
}

void DeviceFence::wait() {
#ifdef RETORT_WITH_CUDA
  if (pending_) cuda::event_wait(event_);
#endif
  pending_ = false;
}

Device resolve_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  const Device d = Device::parse(name);
  check_device_usable(d);
  return d;
}

namespace {
bool& allow_tf32_flag() {
  static bool allow = false;
  return allow;
}
}  // namespace

void set_cuda_allow_tf32(bool allow) { allow_tf32_flag() = allow; }
bool cuda_allow_tf32() { return allow_tf32_flag(); }

}  // namespace retort
