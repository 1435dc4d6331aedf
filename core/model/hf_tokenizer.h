#pragma once
// Hugging Face tokenizer files → GGUF tokenizer.* metadata, written as llama.cpp's
// convert_hf_to_gguf.py (with gguf-py's SpecialVocab) writes it, so that the GGUF
// tokenizes in llama.cpp as the original tokenizes in transformers.
#include <filesystem>

#include "core/model/metadata.h"

namespace rs::model {

// The tokenizer of the model in `directory`: tokenizer.model (SentencePiece,
// preferred as the converter prefers it) or tokenizer.json (byte-level BPE),
// completed by tokenizer_config.json, config.json, added_tokens.json and
// chat_template.{jinja,json} where present. Empty when there is no tokenizer
// file. Throws ModelError naming the file and the field at fault.
Metadata hf_tokenizer_metadata(const std::filesystem::path& directory);

}  // namespace rs::model
