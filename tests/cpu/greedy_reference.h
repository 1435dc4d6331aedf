#pragma once
// llama.cpp's greedy continuation of a real trained model
// (tests/data/llama_cpp_reference.json), and an executor's own greedy
// continuation to hold against it: shared by the CPU and CUDA executor tests.
#include <span>
#include <string>
#include <vector>

#include "core/engine/executor.h"

namespace rs::cpu::testing {

struct GreedyReference {
  std::vector<engine::TokenId> prompt;
  std::vector<engine::TokenId> continuation;
};

// The entry for `model` (a file name, as "stories260K.gguf").
GreedyReference llama_cpp_greedy(const std::string& model);

// `tokens` greedy tokens after `prompt`: the prompt in one step, then one token per step.
std::vector<engine::TokenId> greedy_continuation(engine::Executor& executor, std::vector<engine::TokenId> prompt,
                                         std::span<const kv::BlockId> blocks, size_t tokens);

}  // namespace rs::cpu::testing
