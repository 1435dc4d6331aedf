#include "tests/cpu/greedy_reference.h"

#include <simdjson.h>

#include <algorithm>

namespace rs::cpu::testing {

using namespace engine;  // the executor interface this module implements: Batch, Logits, TokenId

GreedyReference llama_cpp_greedy(const std::string& model) {
  simdjson::dom::parser parser;
  const simdjson::dom::element entry = parser.load(RINGSERVE_SOURCE_DIR "/tests/data/llama_cpp_reference.json")[model];
  GreedyReference reference;
  for (const int64_t id : entry["prompt_ids"].get_array()) reference.prompt.push_back(TokenId(id));
  for (const int64_t id : entry["greedy_ids"].get_array()) reference.continuation.push_back(TokenId(id));
  return reference;
}

std::vector<TokenId> greedy_continuation(Executor& executor, std::vector<TokenId> prompt,
                                         std::span<const BlockId> blocks, size_t tokens) {
  std::vector<TokenId> generated;
  Logits logits;
  Batch batch;
  batch.sequences.push_back({prompt, 0, blocks, true});
  while (generated.size() < tokens) {
    executor.step(batch, logits);
    const auto row = logits.row(0);
    const TokenId next = TokenId(std::max_element(row.begin(), row.end()) - row.begin());
    generated.push_back(next);
    prompt.push_back(next);
    batch.sequences[0] = {std::span(prompt).last(1), uint32_t(prompt.size() - 1), blocks, true};
  }
  return generated;
}

}  // namespace rs::cpu::testing
