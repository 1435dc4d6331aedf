#pragma once
// Hugging Face config.json → the architecture parameters of a ModelDesc.
#include <string_view>

#include "core/model/model_desc.h"

namespace rs::model {

// Parses the text of a config.json (`file` names it in errors) into a ModelDesc
// with architecture, dimensions, RoPE and norm set; no name, files or tensors.
// tied_embeddings is what the config asks for: a model shipping lm_head is untied
// by the safetensors reader.
// Throws ModelError on an unsupported architecture or a missing or bad field.
ModelDesc parse_hf_config(std::string_view json, std::string_view file);

}  // namespace rs::model
