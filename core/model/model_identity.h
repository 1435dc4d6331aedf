#pragma once
// A model's identity for caches that outlive the process (the prefix cache's
// snapshot files): equal for the same weights in the same files, different for
// another model, another fine-tune of the same shapes, or another quantization.
#include <cstdint>

#include "core/model/model_desc.h"

namespace rs::model {

// XXH3 of the architecture's parameters, the tensor table (names, types,
// shapes, sizes) and the first 4 KiB of every tensor's bytes. Throws
// ModelError naming the file when it cannot read one.
uint64_t model_identity(const ModelDesc& desc);

}  // namespace rs::model
