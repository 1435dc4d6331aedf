#pragma once
// A full KV block's name: XXH3 of its parent block's name, its token ids and a
// salt of everything else that changes its keys and values (the model, the KV
// type and block size, the request's cache_salt). Equal names, equal KV: the
// prefix cache finds blocks by it, and a snapshot file checks its blocks with it.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/model/tensor_type.h"

namespace rs::kv {

// The salt of the first block's chain. `model_identity`: model::model_identity of the weights.
uint64_t chain_salt(uint64_t model_identity, model::TensorType kv_type, uint32_t block_tokens);
// The same salt for a request's own cache_salt (tenants keep their caches apart); "" leaves it as it is.
uint64_t request_salt(uint64_t salt, std::string_view cache_salt);

uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens);

// Extends `chain` (the names of `tokens`' first chain.size() blocks, from `salt`) to its first `blocks` full blocks.
void extend_chain(std::vector<uint64_t>& chain, uint64_t salt, std::span<const int32_t> tokens, uint32_t block_tokens,
                  uint32_t blocks);

}  // namespace rs::kv
