#pragma once
// GGUF v3 writer: metadata and the tensor table, then tensor data streamed from
// the caller chunk by chunk, so that a 16 GB model never sits in memory.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/model/gguf_reader.h"
#include "core/model/metadata.h"
#include "core/model/model_error.h"
#include "core/model/tensor_type.h"

namespace rs::model {

struct GgufTensorOut {
  std::string name;
  TensorType type = TensorType::f32;
  std::vector<uint64_t> shape;  // ggml order: shape[0] is the row length
  // Fills all of `chunk` with the tensor's bytes from `offset_in_tensor` on.
  std::function<void(uint64_t offset_in_tensor, std::span<uint8_t> chunk)> fill;
};

// Writes PATH.tmp.PID and renames it to PATH, so that no reader sees half a file.
// Metadata keeps its order; general.alignment is written (u32) when `alignment`
// is not 32, and a given general.alignment is replaced by `alignment`. Every
// tensor starts on an `alignment` boundary, as does the end of the file. The
// same arguments give the same bytes. Throws ModelError naming PATH.
void write_gguf(const std::string& path, const Metadata& metadata, const std::vector<GgufTensorOut>& tensors,
                uint64_t alignment = kGgufDefaultAlignment);

}  // namespace rs::model
