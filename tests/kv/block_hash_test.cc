// Chain hashes: a block's name depends on everything before it in the chain,
// on its own tokens, and on the salt; extending a chain gives the same names as
// computing it at once.
#include "core/kv/block_hash.h"

#include <gtest/gtest.h>

#include <vector>

namespace rs::kv {
namespace {

TEST(BlockHash, ANameDependsOnTheParentTheTokensAndTheSalt) {
  const std::vector<int32_t> a = {1, 2, 3, 4}, b = {1, 2, 3, 5};
  EXPECT_EQ(block_hash(7, a), block_hash(7, a));
  EXPECT_NE(block_hash(7, a), block_hash(8, a));
  EXPECT_NE(block_hash(7, a), block_hash(7, b));
  const uint64_t salt = chain_salt(42, model::TensorType::f16, 16);
  EXPECT_NE(salt, chain_salt(43, model::TensorType::f16, 16));
  EXPECT_NE(salt, chain_salt(42, model::TensorType::q8_0, 16));
  EXPECT_NE(salt, chain_salt(42, model::TensorType::f16, 32));
  EXPECT_EQ(request_salt(salt, ""), salt);
  EXPECT_NE(request_salt(salt, "tenant"), salt);
  EXPECT_NE(request_salt(salt, "tenant"), request_salt(salt, "tenant2"));
}

TEST(BlockHash, AChainNamesFullBlocksOnlyAndExtendsAsAWhole) {
  std::vector<int32_t> tokens;
  for (int32_t i = 0; i < 10; ++i) tokens.push_back(i * 3);
  std::vector<uint64_t> whole, piecewise;
  extend_chain(whole, 99, tokens, 4, 2);  // 10 tokens: 2 full blocks of 4
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0], block_hash(99, std::span(tokens).first(4)));
  EXPECT_EQ(whole[1], block_hash(whole[0], std::span(tokens).subspan(4, 4)));
  extend_chain(piecewise, 99, tokens, 4, 1);
  extend_chain(piecewise, 99, tokens, 4, 2);
  EXPECT_EQ(piecewise, whole);
  // The same second block after another first block has another name.
  std::vector<int32_t> other = tokens;
  other[0] = 1000;
  std::vector<uint64_t> other_chain;
  extend_chain(other_chain, 99, other, 4, 2);
  EXPECT_NE(other_chain[1], whole[1]);
}

}  // namespace
}  // namespace rs::kv
