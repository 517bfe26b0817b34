#include "tensor/cuda/cublas_api.h"

#include <dlfcn.h>

#include <string>

#include "tensor/error.h"

namespace retort {
namespace cuda {
namespace cublas {

namespace {

#define RETORT_STR2(x) #x
#define RETORT_STR(x) RETORT_STR2(x)
// The soname of the cuBLAS these headers declare (libcublas.so.13 for CUDA 13).
constexpr const char* kLibrary = "libcublas.so." RETORT_STR(CUBLAS_VER_MAJOR);
#undef RETORT_STR
#undef RETORT_STR2

struct Api {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSgemm_v2) sgemm;
  decltype(&cublasGetProperty) get_property;
};

template <class Fn>
void bind(void* lib, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  RETORT_CHECK(fn != nullptr, "cuBLAS: " << kLibrary << " has no " << name << " (" << dlerror() << ")");
}

Api load() {
  // By soname (the loader path, the binary's run path), then from the toolkit
  // this build was configured with. Never closed: handles live to the end.
  void* lib = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
#ifdef RETORT_CUBLAS_DIR
  if (lib == nullptr) lib = dlopen((std::string(RETORT_CUBLAS_DIR) + "/" + kLibrary).c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
  RETORT_CHECK(lib != nullptr, "cuBLAS: cannot load " << kLibrary << " (" << dlerror()
                                                      << "); is the CUDA toolkit's lib directory on the loader path?");
  // The names behind cublas_v2.h's macros (cublasCreate is cublasCreate_v2).
  Api a{};
  bind(lib, "cublasCreate_v2", a.create);
  bind(lib, "cublasSetStream_v2", a.set_stream);
  bind(lib, "cublasSetMathMode", a.set_math_mode);
  bind(lib, "cublasSgemm_v2", a.sgemm);
  bind(lib, "cublasGetProperty", a.get_property);
  return a;
}

const Api& api() {
  static const Api a = load();  // thread-safe; a failed load throws again on the next call
  return a;
}

}  // namespace

cublasStatus_t create(cublasHandle_t* handle) { return api().create(handle); }

cublasStatus_t set_stream(cublasHandle_t handle, cudaStream_t stream) { return api().set_stream(handle, stream); }

cublasStatus_t set_math_mode(cublasHandle_t handle, cublasMath_t mode) { return api().set_math_mode(handle, mode); }

cublasStatus_t sgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                     const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta, float* C,
                     int ldc) {
  return api().sgemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t get_property(libraryPropertyType type, int* value) { return api().get_property(type, value); }

}  // namespace cublas
}  // namespace cuda
}  // namespace retort
