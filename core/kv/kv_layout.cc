#include "core/kv/kv_layout.h"

namespace rs::kv {

size_t KvLayout::row_bytes() const { return *model::tensor_bytes(type, head_dim); }

}  // namespace rs::kv
