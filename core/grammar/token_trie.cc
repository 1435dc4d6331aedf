#include "core/grammar/token_trie.h"

#include <algorithm>
#include <numeric>

namespace rs::grammar {

TokenTrie::TokenTrie(std::vector<std::string> token_bytes) : token_bytes_(std::move(token_bytes)) {
  std::vector<TokenId> order(token_bytes_.size());
  std::iota(order.begin(), order.end(), 0);
  std::erase_if(order, [&](TokenId id) { return token_bytes_[size_t(id)].empty(); });
  std::stable_sort(order.begin(), order.end(),
                   [&](TokenId a, TokenId b) { return token_bytes_[size_t(a)] < token_bytes_[size_t(b)]; });

  // Sorted tokens give the preorder directly: each adds the nodes past its common prefix with the one before.
  byte_.push_back(0);
  depth_.push_back(0);
  token_begin_.push_back(0);
  std::vector<uint32_t> path{0};  // node at each depth of the current token
  std::string_view previous;
  for (const TokenId id : order) {
    const std::string_view bytes = token_bytes_[size_t(id)];
    const size_t common =
        size_t(std::mismatch(previous.begin(), previous.end(), bytes.begin(), bytes.end()).first - previous.begin());
    path.resize(common + 1);
    for (size_t d = common; d < bytes.size(); ++d) {
      path.push_back(uint32_t(byte_.size()));
      byte_.push_back(uint8_t(bytes[d]));
      depth_.push_back(uint32_t(d + 1));
      token_begin_.push_back(uint32_t(tokens_.size()));
    }
    tokens_.push_back(id);  // at the last node of its path, which is the newest node
    max_depth_ = std::max(max_depth_, uint32_t(bytes.size()));
    previous = bytes;
  }
  token_begin_.push_back(uint32_t(tokens_.size()));

  // A node's subtree ends at the next node no deeper than it.
  end_.assign(byte_.size(), uint32_t(byte_.size()));
  std::vector<uint32_t> open;
  for (uint32_t n = 0; n < byte_.size(); ++n) {
    while (!open.empty() && depth_[open.back()] >= depth_[n]) {
      end_[open.back()] = n;
      open.pop_back();
    }
    open.push_back(n);
  }
}

}  // namespace rs::grammar
