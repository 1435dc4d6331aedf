#include "gpu/cuda_model.h"

namespace rs::gpu {

struct CudaModel::Parts {
  Parts(model::ModelDesc desc, int device, const CudaExecutorOptions& options, const io::StreamOptions& stream)
      : weights(std::move(desc), device, stream), executor(weights, options) {}

  DeviceWeights weights;
  CudaExecutor executor;
};

CudaModel::CudaModel(model::ModelDesc desc, int device, const CudaExecutorOptions& options,
                     const io::StreamOptions& stream)
    : parts_(std::make_unique<Parts>(std::move(desc), device, options, stream)) {}

CudaModel::~CudaModel() = default;

engine::Executor& CudaModel::executor() { return parts_->executor; }
const model::ModelDesc& CudaModel::desc() const { return parts_->weights.desc(); }
size_t CudaModel::vocab_size() const { return parts_->weights.output.rows; }
const DeviceLoadResult& CudaModel::load() const { return parts_->weights.load(); }
uint64_t CudaModel::weight_bytes() const { return parts_->weights.device_bytes(); }
uint64_t CudaModel::bytes_per_step() const { return parts_->weights.bytes_per_step(); }
uint64_t CudaModel::executor_bytes() const { return parts_->executor.device_bytes(); }

}  // namespace rs::gpu
