#pragma once
// A model's identity for caches that outlive the process (the prefix and
// semantic caches' files): equal for the same weights in the same files,
// different for another model, another fine-tune of the same shapes, or
// another quantization.
#include <cstdint>

#include "core/model/encoder_desc.h"
#include "core/model/model_desc.h"

namespace rs::model {

// XXH3 of the architecture's parameters, the tensor table (names, types,
// shapes, sizes) and the first 4 KiB of every tensor's bytes. Throws
// ModelError naming the file when it cannot read one.
uint64_t model_identity(const ModelDesc& desc);
// The same for a sentence-embedding encoder (the semantic cache's files): its
// parameters (pooling included), tensor table and tensors' first 4 KiB.
uint64_t encoder_identity(const EncoderDesc& desc);

}  // namespace rs::model
