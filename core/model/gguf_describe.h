#pragma once
// The model a GGUF holds: the architecture's parameters from its metadata,
// checked against its tensor table.
#include <string>

#include "core/model/gguf_reader.h"
#include "core/model/model_desc.h"
#include "core/model/model_error.h"

namespace rs::model {

// Architectures llama, mistral and qwen2; `path` becomes files[0] and names the
// file in errors. Throws ModelError naming the key or tensor at fault.
ModelDesc describe_gguf(const GgufFile& gguf, const std::string& path);

}  // namespace rs::model
