#pragma once
// GGUF metadata values written out in tests: the typed scalars and arrays that
// a test builds a (good or broken) model file's metadata from.
#include <cstdint>
#include <string>
#include <utility>

#include "core/model/metadata.h"

namespace rs::test {

using model::MetaArray;
using model::MetaType;
using model::MetaValue;

inline MetaValue value_of(MetaType type, decltype(MetaValue::value) value) {
  MetaValue v;
  v.type = type;
  v.value = std::move(value);
  return v;
}

inline MetaValue array_of(MetaType element_type, MetaArray elements) {
  MetaValue v = value_of(MetaType::array, std::move(elements));
  v.element_type = element_type;
  return v;
}

inline MetaValue text(std::string s) { return value_of(MetaType::string, std::move(s)); }
inline MetaValue u32(uint64_t u) { return value_of(MetaType::u32, u); }
inline MetaValue i32(int64_t i) { return value_of(MetaType::i32, i); }
inline MetaValue f32(double d) { return value_of(MetaType::f32, d); }
inline MetaValue flag(bool b) { return value_of(MetaType::boolean, b); }

}  // namespace rs::test
