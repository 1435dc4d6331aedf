#pragma once
// A model's vocabulary as GGUF's tokenizer.* metadata describes it: what every
// tokenizer algorithm and the detokenizer read.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/model/metadata.h"

namespace rs::tokenizer {

using TokenId = int32_t;

// llama.cpp's token attributes as GGUF numbers them.
// Hashes std::string and std::string_view alike, so lookups by a view of the
// text being tokenized copy nothing.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename Value>
using TextMap = std::unordered_map<std::string, Value, TextHash, std::equal_to<>>;

enum class TokenType : int32_t {
  undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

struct Vocab {
  std::string name;   // general.name: llama.cpp keys a few per-model quirks on it
  std::string model;  // tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE) or "bert" (WordPiece)
  std::string pre;    // tokenizer.ggml.pre: the pre-tokenizer of a "gpt2" vocabulary
  std::vector<std::string> tokens;
  std::vector<float> scores;     // SentencePiece merge priorities (may be empty)
  std::vector<TokenType> types;  // one per token
  std::vector<std::pair<std::string, std::string>> merges;  // BPE, highest priority first
  TextMap<TokenId> ids;                                     // token text → id
  TokenId bos = -1, eos = -1, unk = -1, pad = -1;
  TokenId cls = -1, sep = -1;  // WordPiece: what add_special puts first ([CLS]) and last ([SEP])
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;  // SentencePiece: "▁" before the text, as llama.cpp does
  // WordPiece's normalizer (BERT's BertNormalizer): lowercase, and strip accents by NFD.
  bool lowercase = true;
  bool strip_accents = true;
  std::string chat_template;

  TokenId id_of(std::string_view text) const;  // -1 when absent
  size_t size() const { return tokens.size(); }
};

// Reads tokenizer.* metadata; throws model::ModelError naming `file` and the
// key when it is missing or malformed.
Vocab vocab_from_metadata(const model::Metadata& metadata, std::string_view file);

// The vocabulary of the model at `path`: a GGUF file, or a Hugging Face model
// directory (or a .safetensors file in one) read from its tokenizer files.
Vocab read_vocab(const std::string& path);

}  // namespace rs::tokenizer
