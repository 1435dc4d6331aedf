#pragma once
// CUDA errors as exceptions that name the call: every runtime call and every
// kernel launch in gpu/ goes through these.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace rs::gpu {

inline void check(cudaError_t err, const std::string& what) {
  if (err != cudaSuccess) throw std::runtime_error("CUDA " + what + ": " + cudaGetErrorString(err));
}

// After a launch: a bad configuration (grid, shared memory) shows up here.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), std::string(kernel) + " launch"); }

}  // namespace rs::gpu
