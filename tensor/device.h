// Where a tensor lives: the CPU or CUDA device k. A CUDA build runs on the CPU
// when no GPU is present; the probe is lazy and never fails.
#pragma once
#include <ostream>
#include <string>

namespace retort {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return Device{DeviceType::CPU, 0}; }
  static Device cuda(int k = 0) { return Device{DeviceType::CUDA, k}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"

  // Parses "cpu", "cuda", "cuda:K"; throws Error on anything else.
  static Device parse(const std::string& s);
};

std::ostream& operator<<(std::ostream& os, const Device& d);

// True when this build has the CUDA backend compiled in.
bool cuda_compiled();
// Number of usable CUDA devices (0 without the backend or without a GPU).
int cuda_device_count();
// "NAME, sm_XY, N MiB" of CUDA device k (empty without the backend).
std::string cuda_device_name(int k);
// "cuDNN 9.x.y" / "cuBLAS 13.x" style versions of the libraries linked in, or "" without them.
std::string cuda_library_versions();
inline bool cuda_available() { return cuda_device_count() > 0; }
// Throws a clear Error unless `d` can hold tensors in this process.
void check_device_usable(const Device& d);
// Waits for the work queued on `d` (a no-op on the CPU, where ops are synchronous).
void synchronize(const Device& d);

// The point reached by the work queued on a device (a CUDA event): wait()
// blocks until that work is done. On the CPU, where ops are synchronous, and
// before the first record(), wait() returns at once.
class DeviceFence {
 public:
  DeviceFence() = default;
  ~DeviceFence();
  DeviceFence(const DeviceFence&) = delete;
  DeviceFence& operator=(const DeviceFence&) = delete;
  void record(const Device& d);
  void wait();

 private:
  void* event_ = nullptr;
  int device_ = -1;
  bool pending_ = false;
};
// The device a --device flag or config value names: "auto" is cuda:0 when a GPU
// is present, else the CPU; anything else is parsed and checked usable.
Device resolve_device(const std::string& name);

// Whether FP32 convolutions and GEMMs on CUDA may use TF32 tensor cores (cuDNN
// and cuBLAS math modes). Off by default, as FP32 results would otherwise
// differ from the CPU's by ~1e-3; `--allow-tf32` turns it on.
void set_cuda_allow_tf32(bool allow);
bool cuda_allow_tf32();

}  // namespace retort
