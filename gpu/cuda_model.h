#pragma once
// A model served from a CUDA device: its weights streamed there and the CUDA
// executor that runs them, behind a header that needs no CUDA, so core/ and
// perf/ build the same with or without nvcc (without it, construction throws).
#include <cstdint>
#include <memory>

#include "core/engine/executor.h"
#include "core/model/model_desc.h"
#include "gpu/cuda_executor.h"
#include "gpu/device_load.h"

namespace rs::gpu {

class CudaModel {
 public:
  // Streams the model to `device` and sizes the executor. Throws what
  // DeviceWeights and CudaExecutor throw, or std::runtime_error in a build without CUDA.
  CudaModel(model::ModelDesc desc, int device, const CudaExecutorOptions& options, const io::StreamOptions& stream);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  engine::Executor& executor();
  const model::ModelDesc& desc() const;
  size_t vocab_size() const;           // rows of the LM head
  const DeviceLoadResult& load() const;  // the disk → GPU streaming, timed
  uint64_t weight_bytes() const;       // device memory the weights hold
  uint64_t bytes_per_step() const;     // weight bytes one decode step reads
  uint64_t executor_bytes() const;     // device memory the executor's buffers and KV pool hold

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace rs::gpu
