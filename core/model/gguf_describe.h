#pragma once
// The model a GGUF holds: the architecture's parameters from its metadata,
// checked against its tensor table. Text generators and sentence-embedding
// encoders are described apart, and each refuses the other's files.
#include <string>

#include "core/model/encoder_desc.h"
#include "core/model/gguf_reader.h"
#include "core/model/model_desc.h"
#include "core/model/model_error.h"

namespace rs::model {

// Architectures llama, mistral and qwen2; `path` becomes files[0] and names the
// file in errors. Throws ModelError naming the key or tensor at fault.
ModelDesc describe_gguf(const GgufFile& gguf, const std::string& path);

// Architecture bert (bge, all-MiniLM, e5, gte as llama.cpp's converter writes
// them), pooling mean or CLS; otherwise as describe_gguf.
EncoderDesc describe_encoder_gguf(const GgufFile& gguf, const std::string& path);

}  // namespace rs::model
