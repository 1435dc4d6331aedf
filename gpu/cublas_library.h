#pragma once
// cuBLAS, opened on first use instead of linked: its two libraries (over 500 MB)
// cost every process that links them 0.6 s and 220 MB at start on the dev VM,
// whether or not it ever multiplies on a GPU (CPU serving, plan, tokenize).
#include <cublas_v2.h>

namespace rs::gpu {

// The functions gpu/ calls, by the names cublas_v2.h gives them.
struct CublasLibrary {
  decltype(&cublasCreate) create;
  decltype(&cublasDestroy) destroy;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetWorkspace) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int m, int n, int k,
                           const void* alpha, const void* a, cudaDataType a_type, int lda, const void* b,
                           cudaDataType b_type, int ldb, const void* beta, void* c, cudaDataType c_type, int ldc,
                           cublasComputeType_t compute, cublasGemmAlgo_t algo);  // the exported one of two overloads
  decltype(&cublasGetStatusString) status_string;
};

// Opened once, from any thread: libcublas.so of the cuBLAS major version built against, found on the library path,
// else in the toolkit's library directory of the build. Throws std::runtime_error naming the library and what to
// install when it cannot be opened or lacks a function.
const CublasLibrary& cublas();

}  // namespace rs::gpu
