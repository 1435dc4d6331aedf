#include "core/model/model_desc.h"

namespace rs::model {

uint64_t TensorInfo::elements() const {
  uint64_t n = 1;
  for (const uint64_t d : shape) n *= d;
  return shape.empty() ? 0 : n;
}

const TensorInfo* find_tensor(const std::vector<TensorInfo>& tensors, std::string_view name) {
  for (const TensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TensorInfo* ModelDesc::tensor(std::string_view name) const { return find_tensor(tensors, name); }

uint64_t rope_permuted_source_row(uint64_t row, uint64_t rows, uint32_t heads) {
  const uint64_t head_rows = rows / heads;
  const uint64_t half = head_rows / 2;
  const uint64_t head = row / head_rows;
  const uint64_t within = row % head_rows;
  const uint64_t j = within / 2;
  const uint64_t t = within % 2;
  return head * head_rows + t * half + j;
}

}  // namespace rs::model
