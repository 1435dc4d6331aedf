#pragma once
// A vocabulary's tokens as a trie of their bytes, stored in preorder so a
// walk is one forward pass: a node's subtree is the nodes up to its
// subtree_end, and skipping a subtree that cannot match is one jump.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/sampler/sampling_params.h"

namespace rs::grammar {

using sampler::TokenId;

class TokenTrie {
 public:
  // token_bytes[id] is what token `id` spells; empty for tokens that are not
  // text (control tokens), which are never in the trie.
  explicit TokenTrie(std::vector<std::string> token_bytes);

  size_t vocab_size() const { return token_bytes_.size(); }
  std::string_view token_bytes(TokenId id) const { return token_bytes_[size_t(id)]; }

  // Node 0 is the root, the empty prefix; the others each add one byte.
  uint32_t node_count() const { return uint32_t(byte_.size()); }
  uint8_t byte(uint32_t node) const { return byte_[node]; }
  uint32_t depth(uint32_t node) const { return depth_[node]; }
  uint32_t subtree_end(uint32_t node) const { return end_[node]; }
  // The tokens whose bytes are exactly the path to `node` (usually none or one).
  std::span<const TokenId> tokens_at(uint32_t node) const {
    return {tokens_.data() + token_begin_[node], tokens_.data() + token_begin_[node + 1]};
  }
  uint32_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::string> token_bytes_;
  std::vector<uint8_t> byte_;
  std::vector<uint32_t> depth_;
  std::vector<uint32_t> end_;
  std::vector<uint32_t> token_begin_;  // per node, and one past the last
  std::vector<TokenId> tokens_;
  uint32_t max_depth_ = 0;
};

}  // namespace rs::grammar
