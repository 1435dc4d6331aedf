#include "gpu/cublas_library.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace rs::gpu {
namespace {

#define RS_SYMBOL_NAME(function) RS_SYMBOL_NAME_OF(function)  // after cublas_v2.h's renaming: cublasCreate_v2
#define RS_SYMBOL_NAME_OF(function) #function

const std::string kLibrary = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);

void* open_library() {
  if (void* handle = dlopen(kLibrary.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  const std::string error = dlerror();
  if (void* handle = dlopen((RINGSERVE_CUBLAS_DIR "/" + kLibrary).c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  throw std::runtime_error("cannot open " + kLibrary + " (" + error + "): the CUDA executor needs CUDA " +
                           std::to_string(CUBLAS_VER_MAJOR) + "'s cuBLAS on the library path (NVIDIA's libcublas-" +
                           std::to_string(CUBLAS_VER_MAJOR) + "-* package; deploy/Dockerfile copies it into the image)");
}

template <typename Function>
void find(void* handle, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(handle, name));
  if (function == nullptr) throw std::runtime_error(kLibrary + " has no " + name + ": not the cuBLAS built against");
}

CublasLibrary open_cublas() {
  void* handle = open_library();  // never closed: cuBLAS handles may live until exit
  CublasLibrary library{};
  find(handle, RS_SYMBOL_NAME(cublasCreate), library.create);
  find(handle, RS_SYMBOL_NAME(cublasDestroy), library.destroy);
  find(handle, RS_SYMBOL_NAME(cublasSetStream), library.set_stream);
  find(handle, RS_SYMBOL_NAME(cublasSetWorkspace), library.set_workspace);
  find(handle, RS_SYMBOL_NAME(cublasSetMathMode), library.set_math_mode);
  find(handle, RS_SYMBOL_NAME(cublasGemmEx), library.gemm_ex);
  find(handle, RS_SYMBOL_NAME(cublasGetStatusString), library.status_string);
  return library;
}

}  // namespace

const CublasLibrary& cublas() {
  static const CublasLibrary library = open_cublas();  // a failure throws, and the next call tries again
  return library;
}

}  // namespace rs::gpu
