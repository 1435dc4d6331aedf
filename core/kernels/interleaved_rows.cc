// q4_0 and q8_0 rows between the file's layout and matmul's (see interleaved_rows.h).
#include "core/kernels/interleaved_rows.h"

#include <algorithm>
#include <cstring>

#include "core/model/quantize.h"

namespace rs::kernels {
namespace {

// The bytes of values a block keeps in the interleaved layout, and where they
// start in the file's block (after the fp16 d).
constexpr size_t kDBytes = sizeof(uint16_t);

size_t value_bytes(model::TensorType type) { return model::info(type).block_bytes - kDBytes; }

// Calls move(block_offset, interleaved_offset, bytes) for every piece of a row
// of `blocks` blocks: its 4-byte pieces of values, then its d.
template <class Move>
void for_each_piece(model::TensorType type, size_t blocks, Move move) {
  const size_t block_bytes = model::info(type).block_bytes, values = value_bytes(type);
  size_t out = 0;
  for (size_t g = 0; g < blocks; g += kGroupBlocks) {
    const size_t m = std::min(kGroupBlocks, blocks - g);
    for (size_t k = 0; k < values / 4; ++k) {
      for (size_t j = 0; j < m; ++j, out += 4) move((g + j) * block_bytes + kDBytes + 4 * k, out, 4);
    }
  }
  for (size_t b = 0; b < blocks; ++b, out += kDBytes) move(b * block_bytes, out, kDBytes);
}

}  // namespace

bool interleaved_type(model::TensorType type) {
  return type == model::TensorType::q4_0 || type == model::TensorType::q8_0;
}

void interleave_row(model::TensorType type, const std::byte* from, size_t cols, std::byte* to) {
  const size_t blocks = cols / model::kQK8_0;
  for_each_piece(type, blocks, [&](size_t block, size_t out, size_t n) { std::memcpy(to + out, from + block, n); });
  if (type != model::TensorType::q8_0) return;  // q8_0's values become unsigned, q + 128
  for (size_t i = 0; i < blocks * value_bytes(type); ++i) to[i] ^= std::byte{0x80};
}

void deinterleave_row(model::TensorType type, const std::byte* from, size_t cols, std::byte* to) {
  const size_t blocks = cols / model::kQK8_0;
  for_each_piece(type, blocks, [&](size_t block, size_t in, size_t n) { std::memcpy(to + block, from + in, n); });
  if (type != model::TensorType::q8_0) return;
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t i = 0; i < model::kQK8_0; ++i) to[b * model::info(type).block_bytes + kDBytes + i] ^= std::byte{0x80};
  }
}

}  // namespace rs::kernels
