#include "core/model/tensor_type.h"

namespace rs::model {
namespace {

// Block sizes from ggml's definitions (ggml-common.h): QK4_0 = QK8_0 = 32, QK_K = 256.
constexpr TensorTypeInfo kTypes[] = {
    {TensorType::f32, "f32", 1, 4},
    {TensorType::f16, "f16", 1, 2},
    {TensorType::q4_0, "q4_0", 32, 2 + 16},              // f16 d; 32 4-bit quants
    {TensorType::q8_0, "q8_0", 32, 2 + 32},              // f16 d; 32 int8 quants
    {TensorType::q4_k, "q4_K", 256, 2 + 2 + 12 + 128},   // f16 d, dmin; 12 B scales; 4-bit quants
    {TensorType::q5_k, "q5_K", 256, 2 + 2 + 12 + 32 + 128},  // + 32 B high bits
    {TensorType::q6_k, "q6_K", 256, 128 + 64 + 16 + 2},  // ql, qh, int8 scales, f16 d
    {TensorType::bf16, "bf16", 1, 2},
};

constexpr std::string_view kGgmlNames[] = {
    "f32",  "f16",  "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0", "q8_1",
    "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
    "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m",
    "bf16"};

}  // namespace

std::optional<TensorTypeInfo> tensor_type_info(uint32_t ggml_id) {
  for (const TensorTypeInfo& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == ggml_id) return t;
  }
  return std::nullopt;
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const TensorTypeInfo& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

const TensorTypeInfo& info(TensorType type) {
  for (const TensorTypeInfo& t : kTypes) {
    if (t.type == type) return t;
  }
  return kTypes[0];  // unreachable: every enumerator is in the table
}

std::string_view ggml_type_name(uint32_t ggml_id) {
  return ggml_id < std::size(kGgmlNames) ? kGgmlNames[ggml_id] : std::string_view("unknown");
}

std::optional<uint64_t> tensor_bytes(TensorType type, uint64_t elements) {
  const TensorTypeInfo& t = info(type);
  if (elements % t.block_elements != 0) return std::nullopt;
  return elements / t.block_elements * t.block_bytes;
}

}  // namespace rs::model
