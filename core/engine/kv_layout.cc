#include "core/engine/kv_layout.h"

namespace rs::engine {

size_t KvLayout::row_bytes() const { return *model::tensor_bytes(type, head_dim); }

}  // namespace rs::engine
