// Built where nvcc is absent: no model can be put on a device.
#include <stdexcept>

#include "gpu/cuda_model.h"
#include "gpu/device.h"

namespace rs::gpu {

struct CudaModel::Parts {};

CudaModel::CudaModel(model::ModelDesc, int, const CudaExecutorOptions&, const io::StreamOptions&) {
  throw std::runtime_error(kNoCudaSupport);
}

CudaModel::~CudaModel() = default;

// Unreachable: no CudaModel is ever constructed in this build.
engine::Executor& CudaModel::executor() { throw std::logic_error(kNoCudaSupport); }
const model::ModelDesc& CudaModel::desc() const { throw std::logic_error(kNoCudaSupport); }
size_t CudaModel::vocab_size() const { return 0; }
const DeviceLoadResult& CudaModel::load() const { throw std::logic_error(kNoCudaSupport); }
uint64_t CudaModel::weight_bytes() const { return 0; }
uint64_t CudaModel::bytes_per_step() const { return 0; }
uint64_t CudaModel::executor_bytes() const { return 0; }

}  // namespace rs::gpu
