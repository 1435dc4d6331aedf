#include "core/tokenizer/vocab.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/model/gguf_reader.h"
#include "core/model/hf_tokenizer.h"
#include "core/model/model_error.h"

namespace rs::tokenizer {
namespace {

using model::find;
using model::MetaValue;
using model::ModelError;

const model::MetaArray* array_of(const model::Metadata& m, std::string_view key, std::string_view file,
                                 bool required) {
  const MetaValue* v = find(m, key);
  if (v == nullptr) {
    if (required) throw ModelError(fmt::format("{}: {} is missing", file, key));
    return nullptr;
  }
  if (v->as_array() == nullptr) throw ModelError(fmt::format("{}: {} is not an array", file, key));
  return v->as_array();
}

TokenId id_key(const model::Metadata& m, std::string_view key, std::string_view file, size_t vocab) {
  const MetaValue* v = find(m, key);
  if (v == nullptr) return -1;
  const auto id = v->as_int();
  // llama.cpp writes -1 (as u32: 4294967295) for "none".
  if (!id || *id == 4294967295 || *id == -1) return -1;
  if (*id < 0 || uint64_t(*id) >= vocab) {
    throw ModelError(fmt::format("{}: {} = {} is not a token id (vocabulary of {})", file, key, *id, vocab));
  }
  return TokenId(*id);
}

bool flag(const model::Metadata& m, std::string_view key, bool fallback) {
  const MetaValue* v = find(m, key);
  return v && v->as_bool() ? *v->as_bool() : fallback;
}

}  // namespace

TokenId Vocab::id_of(std::string_view text) const {
  const auto it = ids.find(text);
  return it == ids.end() ? -1 : it->second;
}

Vocab vocab_from_metadata(const model::Metadata& m, std::string_view file) {
  Vocab v;
  const MetaValue* model_key = find(m, "tokenizer.ggml.model");
  if (model_key == nullptr || model_key->as_string() == nullptr) {
    throw ModelError(fmt::format("{}: tokenizer.ggml.model is missing", file));
  }
  v.model = *model_key->as_string();
  if (v.model != "llama" && v.model != "gpt2") {
    throw ModelError(fmt::format("{}: tokenizer.ggml.model \"{}\" is not supported (llama, gpt2)", file, v.model));
  }
  if (const MetaValue* name = find(m, "general.name"); name && name->as_string()) v.name = *name->as_string();
  if (const MetaValue* pre = find(m, "tokenizer.ggml.pre"); pre && pre->as_string()) v.pre = *pre->as_string();

  const model::MetaArray& tokens = *array_of(m, "tokenizer.ggml.tokens", file, true);
  v.tokens.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string* text = tokens[i].as_string();
    if (text == nullptr) throw ModelError(fmt::format("{}: tokenizer.ggml.tokens[{}] is not a string", file, i));
    v.tokens.push_back(*text);
    v.ids[*text] = TokenId(i);  // the last id wins for duplicated text, as in llama.cpp's loader
  }
  if (const auto* scores = array_of(m, "tokenizer.ggml.scores", file, false)) {
    if (scores->size() != v.tokens.size()) throw ModelError(fmt::format("{}: tokenizer.ggml.scores has {} entries for {} tokens", file, scores->size(), v.tokens.size()));
    for (const MetaValue& s : *scores) v.scores.push_back(float(s.as_float().value_or(0.0)));
  }
  v.types.assign(v.tokens.size(), TokenType::normal);
  if (const auto* types = array_of(m, "tokenizer.ggml.token_type", file, false)) {
    if (types->size() != v.tokens.size()) throw ModelError(fmt::format("{}: tokenizer.ggml.token_type has {} entries for {} tokens", file, types->size(), v.tokens.size()));
    for (size_t i = 0; i < types->size(); ++i) v.types[i] = TokenType((*types)[i].as_int().value_or(1));
  }
  if (const auto* merges = array_of(m, "tokenizer.ggml.merges", file, false)) {
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string* merge = (*merges)[i].as_string();
      const size_t space = merge ? merge->find(' ', 1) : std::string::npos;
      if (space == std::string::npos) throw ModelError(fmt::format("{}: tokenizer.ggml.merges[{}] is not \"a b\"", file, i));
      v.merges.emplace_back(merge->substr(0, space), merge->substr(space + 1));
    }
  }
  const size_t n = v.tokens.size();
  v.bos = id_key(m, "tokenizer.ggml.bos_token_id", file, n);
  v.eos = id_key(m, "tokenizer.ggml.eos_token_id", file, n);
  v.unk = id_key(m, "tokenizer.ggml.unknown_token_id", file, n);
  v.pad = id_key(m, "tokenizer.ggml.padding_token_id", file, n);
  // llama.cpp's defaults: SentencePiece adds BOS, byte-level BPE does not.
  v.add_bos = flag(m, "tokenizer.ggml.add_bos_token", v.model == "llama");
  v.add_eos = flag(m, "tokenizer.ggml.add_eos_token", false);
  v.add_space_prefix = flag(m, "tokenizer.ggml.add_space_prefix", v.model == "llama");
  if (const MetaValue* t = find(m, "tokenizer.chat_template"); t && t->as_string()) v.chat_template = *t->as_string();
  return v;
}

Vocab read_vocab(const std::string& path) {
  namespace fs = std::filesystem;
  const bool hf = fs::is_directory(path) || fs::path(path).extension() == ".safetensors";
  if (!hf) return vocab_from_metadata(model::read_gguf(path).metadata, path);
  const fs::path directory = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  const model::Metadata metadata = model::hf_tokenizer_metadata(directory);
  if (metadata.empty()) {
    throw ModelError(fmt::format("{}: no tokenizer.model or tokenizer.json beside the model", directory.string()));
  }
  return vocab_from_metadata(metadata, directory.string());
}

}  // namespace rs::tokenizer
