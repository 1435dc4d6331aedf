#pragma once
// Tensor element types, numbered as ggml numbers them (GGUF stores these ids),
// with their block layouts: a quantized row is a sequence of blocks, each
// holding `block_elements` values in `block_bytes` bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rs::model {

enum class TensorType : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q8_0 = 8,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  bf16 = 30,
};

struct TensorTypeInfo {
  TensorType type;
  std::string_view name;  // as ggml prints it: "f32", "q4_K", …
  uint32_t block_elements;
  uint32_t block_bytes;
};

// Layout of a supported type; nullopt for an id we do not support.
std::optional<TensorTypeInfo> tensor_type_info(uint32_t ggml_id);
const TensorTypeInfo& info(TensorType type);
// The type ggml calls `name` ("f32", "q4_0", "q4_K", …), if we support it.
std::optional<TensorType> tensor_type_from_name(std::string_view name);
// ggml's name for any id (also unsupported ones, for error messages).
std::string_view ggml_type_name(uint32_t ggml_id);
// Bytes of `elements` values, or nullopt if `elements` is not a whole number of blocks.
std::optional<uint64_t> tensor_bytes(TensorType type, uint64_t elements);

}  // namespace rs::model
