#include "core/app/embedding_service.h"

#include <chrono>
#include <filesystem>

#include "core/base/log.h"
#include "core/cpu/bert_encoder.h"
#include "core/model/model_identity.h"

namespace rs {

EmbeddingService::EmbeddingService(const EmbeddingServiceOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto encoder = std::make_unique<cpu::BertEncoder>(options.model, options.threads, io::StreamOptions{}, options.nice);
  const model::EncoderDesc& desc = encoder->desc();
  tokenizer_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::read_vocab(options.model));
  engine_ = std::make_unique<engine::EmbeddingEngine>(*encoder, options.max_batch_tokens);
  serving_.id = options.model_name.empty() ? std::filesystem::path(options.model).filename().string()
                                           : options.model_name;
  serving_.tokenizer = tokenizer_.get();
  serving_.engine = engine_.get();
  identity_ = model::encoder_identity(desc);
  log::info("embedding model {}: {} layers, {} dimensions, {} pooling, up to {} tokens an input; loaded in {:.0f} ms",
            serving_.id, desc.n_layers, desc.embedding_dim, model::pooling_name(desc.pooling), desc.context_length,
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  encoder_ = std::move(encoder);
}

}  // namespace rs
