#include "core/model/metadata.h"

#include <limits>

namespace rs::model {

std::string_view meta_type_name(MetaType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",   "u16",    "i16",   "u32",
                                                "i32", "f32",  "bool",   "string", "array",
                                                "u64", "i64",  "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : std::string_view("unknown");
}

std::optional<uint64_t> MetaValue::as_uint() const {
  if (const auto* u = std::get_if<uint64_t>(&value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&value); i && *i >= 0) return uint64_t(*i);
  return std::nullopt;
}

std::optional<int64_t> MetaValue::as_int() const {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&value);
      u && *u <= uint64_t(std::numeric_limits<int64_t>::max())) {
    return int64_t(*u);
  }
  return std::nullopt;
}

std::optional<double> MetaValue::as_float() const {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&value)) return double(*u);
  if (const auto* i = std::get_if<int64_t>(&value)) return double(*i);
  return std::nullopt;
}

std::optional<bool> MetaValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  return std::nullopt;
}

const std::string* MetaValue::as_string() const { return std::get_if<std::string>(&value); }

const MetaArray* MetaValue::as_array() const { return std::get_if<MetaArray>(&value); }

const MetaValue* find(const Metadata& metadata, std::string_view key) {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace meta {
MetaValue u32(uint32_t v) { return {MetaType::u32, MetaType::u32, uint64_t{v}}; }
MetaValue i32(int32_t v) { return {MetaType::i32, MetaType::u32, int64_t{v}}; }
MetaValue f32(double v) { return {MetaType::f32, MetaType::u32, v}; }
MetaValue text(std::string v) { return {MetaType::string, MetaType::u32, std::move(v)}; }
MetaValue flag(bool v) { return {MetaType::boolean, MetaType::u32, v}; }
}  // namespace meta

}  // namespace rs::model
