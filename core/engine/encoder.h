#pragma once
// The interface of a sentence-embedding model, whatever device runs it: what
// an embeddings endpoint calls, as the engine calls an Executor.
#include <cstdint>
#include <span>

namespace rs::engine {

// A sentence-embedding model: token sequences in, one pooled, L2-normalised vector each out.
class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual uint32_t dims() const = 0;
  virtual uint32_t max_tokens() const = 0;  // positions the model has: longer inputs are refused by callers
  // One forward pass over every input (token ids, [CLS]…[SEP] already added); out holds inputs.size() × dims().
  virtual void encode(std::span<const std::span<const int32_t>> inputs, std::span<float> out) = 0;
};

}  // namespace rs::engine
