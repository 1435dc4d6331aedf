#pragma once
// GGUF v2/v3 (little-endian) reader: metadata and the tensor table, with every
// count, length, offset and size checked against the file before it is used.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/metadata.h"
#include "core/model/model_desc.h"
#include "core/model/model_error.h"

namespace rs::model {

// The format's constants, shared with gguf_writer.
inline constexpr std::string_view kGgufMagic = "GGUF";
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufDefaultAlignment = 32;
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";

inline uint64_t gguf_align(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

// Bytes a value of `type` takes in a GGUF: exact for scalars, the least for a
// string (its length) and for an array (its element type and length).
uint64_t gguf_min_value_bytes(MetaType type);

struct GgufFile {
  uint32_t version = kGgufVersion;
  uint64_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // absolute; past the end in a vocabulary-only file without padding
  uint64_t file_size = 0;
  Metadata metadata;                // in file order
  std::vector<TensorInfo> tensors;  // in file order; file 0, absolute offsets
};

// Reads the header of the file at `path` with pread, never the tensor data.
// Throws ModelError naming the file and the field at fault.
GgufFile read_gguf(const std::string& path);

// Parses a whole GGUF held in memory; `name` stands for the file in errors.
GgufFile parse_gguf(std::span<const uint8_t> bytes, std::string_view name);

}  // namespace rs::model
