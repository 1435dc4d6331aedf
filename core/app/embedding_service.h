#pragma once
// The embedding model `serve --embedding-model` serves: a BERT-family encoder
// on the CPU, its WordPiece tokenizer, and the thread that batches every
// waiting input into one pass.
#include <cstdint>
#include <memory>
#include <string>

#include "core/api/serving_model.h"
#include "core/engine/embedding_engine.h"
#include "core/engine/encoder.h"
#include "core/tokenizer/tokenizer.h"

namespace rs {

struct EmbeddingServiceOptions {
  std::string model;       // a GGUF of architecture bert
  std::string model_name;  // "" : the file's name
  unsigned threads = 0;    // 0: every core
  int nice = 0;            // their niceness above the process's (cpu::ThreadPool)
  uint32_t max_batch_tokens = 8192;
};

class EmbeddingService {
 public:
  // Loads the model; throws std::exception naming the file and what is wrong with it.
  explicit EmbeddingService(const EmbeddingServiceOptions& options);

  const api::ServingEncoder& serving() const { return serving_; }
  uint64_t identity() const { return identity_; }  // model::encoder_identity of the weights

 private:
  std::unique_ptr<engine::Encoder> encoder_;  // declared first: the engine's thread stops before it goes
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<engine::EmbeddingEngine> engine_;
  api::ServingEncoder serving_;
  uint64_t identity_ = 0;
};

}  // namespace rs
