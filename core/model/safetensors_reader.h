#pragma once
// Hugging Face safetensors models → ModelDesc: a directory with config.json and
// model.safetensors, or shards listed in model.safetensors.index.json.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/model_desc.h"

namespace rs::model {

// One tensor as a safetensors header lists it: Hugging Face name and shape order.
struct SafetensorsTensor {
  std::string name;
  TensorType type = TensorType::f32;
  std::vector<uint64_t> shape;  // row-major as stored: shape.back() is the row length
  uint64_t begin = 0;           // data_offsets, relative to the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_start = 0;                 // 8 + header length: where data_offsets count from
  std::vector<SafetensorsTensor> tensors;  // sorted by begin; sizes and bounds checked
};

// Parses and checks the header of a safetensors file given all its bytes (a
// mapping: only the header is read), so that offsets are checked against its
// size. `name` names the file in errors. Throws ModelError.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view name);

// Reads a model directory, or a .safetensors file whose directory holds
// config.json, into a ModelDesc with GGUF tensor names and ggml shape order.
// Throws ModelError naming the file and field at fault.
ModelDesc read_safetensors_model(const std::string& path);

}  // namespace rs::model
