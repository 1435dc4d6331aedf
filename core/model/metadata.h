#pragma once
// Key-value metadata as GGUF stores it (types numbered as in the GGUF spec).
// GGUF readers fill it from the file; safetensors readers from config.json /
// tokenizer.json; `pack` writes it back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace rs::model {

enum class MetaType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

std::string_view meta_type_name(MetaType type);

struct MetaValue;
using MetaArray = std::vector<MetaValue>;

struct MetaValue {
  MetaType type = MetaType::u32;
  MetaType element_type = MetaType::u32;  // arrays: the type of every element
  // u8…u64 → uint64_t, i8…i64 → int64_t, f32/f64 → double, boolean, string, array.
  std::variant<uint64_t, int64_t, double, bool, std::string, MetaArray> value;

  std::optional<uint64_t> as_uint() const;  // any integer type holding a value >= 0
  std::optional<int64_t> as_int() const;    // any integer type in int64 range
  std::optional<double> as_float() const;   // any number
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const MetaArray* as_array() const;
};

// In file order, so a GGUF read and written back keeps its key order.
using Metadata = std::vector<std::pair<std::string, MetaValue>>;

const MetaValue* find(const Metadata& metadata, std::string_view key);

// Values as a GGUF writer makes them (model::meta::u32(8)).
namespace meta {
MetaValue u32(uint32_t v);
MetaValue i32(int32_t v);
MetaValue f32(double v);
MetaValue text(std::string v);
MetaValue flag(bool v);
}  // namespace meta

}  // namespace rs::model
