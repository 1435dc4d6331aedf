#include "core/kv/block_hash.h"

#include <xxhash.h>

#include <array>

namespace rs::kv {

uint64_t chain_salt(uint64_t model_identity, model::TensorType kv_type, uint32_t block_tokens) {
  const std::array<uint64_t, 3> parts = {model_identity, uint64_t(kv_type), block_tokens};
  return XXH3_64bits(parts.data(), sizeof parts);
}

uint64_t request_salt(uint64_t salt, std::string_view cache_salt) {
  return cache_salt.empty() ? salt : XXH3_64bits_withSeed(cache_salt.data(), cache_salt.size(), salt);
}

uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens) {
  return XXH3_64bits_withSeed(tokens.data(), tokens.size_bytes(), parent);
}

void extend_chain(std::vector<uint64_t>& chain, uint64_t salt, std::span<const int32_t> tokens, uint32_t block_tokens,
                  uint32_t blocks) {
  while (chain.size() < blocks) {
    const uint64_t parent = chain.empty() ? salt : chain.back();
    chain.push_back(block_hash(parent, tokens.subspan(chain.size() * block_tokens, block_tokens)));
  }
}

}  // namespace rs::kv
