#include "core/tokenizer/vocab.h"

#include <fmt/format.h>

#include <filesystem>
#include <optional>

#include "core/model/gguf_reader.h"
#include "core/model/hf_tokenizer.h"
#include "core/model/model_error.h"

namespace rs::tokenizer {
namespace {

using model::find;
using model::MetaValue;
using model::ModelError;

constexpr int64_t kLastTokenType = int64_t(TokenType::byte);

std::string type_of(const MetaValue& v) {
  if (v.as_array() != nullptr) return fmt::format("an array of {}", model::meta_type_name(v.element_type));
  return std::string(model::meta_type_name(v.type));
}

ModelError type_error(std::string_view file, std::string_view field, const MetaValue& v, std::string_view expected) {
  return ModelError(fmt::format("{}: {} must be {} (it is {})", file, field, expected, type_of(v)));
}

std::string with_article(std::string_view noun) {
  return fmt::format("{} {}", std::string_view("aeiou").find(noun.front()) == std::string_view::npos ? "a" : "an",
                     noun);
}

bool is_string(const MetaValue& v) { return v.as_string() != nullptr; }
bool is_integer(const MetaValue& v) { return v.as_int() || v.as_uint(); }
bool is_number(const MetaValue& v) { return v.as_float().has_value(); }

const std::string* string_key(const model::Metadata& m, std::string_view key, std::string_view file) {
  const MetaValue* v = find(m, key);
  if (v != nullptr && v->as_string() == nullptr) throw type_error(file, key, *v, "a string");
  return v == nullptr ? nullptr : v->as_string();
}

bool flag(const model::Metadata& m, std::string_view key, std::string_view file, bool fallback) {
  const MetaValue* v = find(m, key);
  if (v == nullptr) return fallback;
  if (!v->as_bool()) throw type_error(file, key, *v, "a bool");
  return *v->as_bool();
}

// The array at `key`, each element `element_ok` (what `element` names); null when absent.
template <typename ElementOk>
const model::MetaArray* array_key(const model::Metadata& m, std::string_view key, std::string_view file,
                                  std::string_view element, ElementOk element_ok) {
  const MetaValue* v = find(m, key);
  if (v == nullptr) return nullptr;
  if (v->as_array() == nullptr) throw type_error(file, key, *v, fmt::format("an array of {}s", element));
  const model::MetaArray& elements = *v->as_array();
  for (size_t i = 0; i < elements.size(); ++i) {
    if (!element_ok(elements[i])) {
      throw type_error(file, fmt::format("{}[{}]", key, i), elements[i], with_article(element));
    }
  }
  return &elements;
}

// An array with one entry per token, or null when absent.
template <typename ElementOk>
const model::MetaArray* per_token_array(const model::Metadata& m, std::string_view key, std::string_view file,
                                        std::string_view element, ElementOk element_ok, size_t tokens) {
  const model::MetaArray* elements = array_key(m, key, file, element, element_ok);
  if (elements != nullptr && elements->size() != tokens) {
    throw ModelError(fmt::format("{}: {} has {} entries for {} tokens", file, key, elements->size(), tokens));
  }
  return elements;
}

TokenId id_key(const model::Metadata& m, std::string_view key, std::string_view file, size_t vocab) {
  const MetaValue* v = find(m, key);
  if (v == nullptr) return -1;
  if (!is_integer(*v)) throw type_error(file, key, *v, "an integer");
  const std::optional<int64_t> id = v->as_int();
  if (id == -1 || id == 4294967295) return -1;  // llama.cpp writes -1 (as u32: 4294967295) for "none"
  if (!id || *id < 0 || uint64_t(*id) >= vocab) {
    const std::string shown = id ? std::to_string(*id) : std::to_string(*v->as_uint());
    throw ModelError(fmt::format("{}: {} = {} is not a token id (vocabulary of {})", file, key, shown, vocab));
  }
  return TokenId(*id);
}

std::string tokenizer_model(const model::Metadata& m, std::string_view file) {
  const std::string* model = string_key(m, "tokenizer.ggml.model", file);
  if (model == nullptr) throw ModelError(fmt::format("{}: tokenizer.ggml.model is missing", file));
  if (*model != "llama" && *model != "gpt2" && *model != "bert") {
    throw ModelError(
        fmt::format("{}: tokenizer.ggml.model \"{}\" is not supported (llama, gpt2, bert)", file, *model));
  }
  return *model;
}

void read_tokens(const model::Metadata& m, std::string_view file, Vocab& v) {
  const model::MetaArray* tokens = array_key(m, "tokenizer.ggml.tokens", file, "string", is_string);
  if (tokens == nullptr) throw ModelError(fmt::format("{}: tokenizer.ggml.tokens is missing", file));
  if (tokens->empty()) throw ModelError(fmt::format("{}: tokenizer.ggml.tokens is empty", file));
  v.tokens.reserve(tokens->size());
  for (size_t i = 0; i < tokens->size(); ++i) {
    v.tokens.push_back(*(*tokens)[i].as_string());
    v.ids[v.tokens.back()] = TokenId(i);  // the last id wins for duplicated text, as in llama.cpp's loader
  }
}

void read_token_types(const model::Metadata& m, std::string_view file, Vocab& v) {
  v.types.assign(v.tokens.size(), TokenType::normal);
  const model::MetaArray* types = per_token_array(m, "tokenizer.ggml.token_type", file, "integer", is_integer,
                                                  v.tokens.size());
  if (types == nullptr) return;
  for (size_t i = 0; i < types->size(); ++i) {
    const std::optional<int64_t> type = (*types)[i].as_int();
    if (!type || *type < 0 || *type > kLastTokenType) {
      const std::string shown = type ? std::to_string(*type) : std::to_string(*(*types)[i].as_uint());
      throw ModelError(fmt::format("{}: tokenizer.ggml.token_type[{}] = {} is not a token type (0 to {})", file, i,
                                   shown, kLastTokenType));
    }
    v.types[i] = TokenType(*type);
  }
}

void read_merges(const model::Metadata& m, std::string_view file, Vocab& v) {
  const model::MetaArray* merges = array_key(m, "tokenizer.ggml.merges", file, "string", is_string);
  if (merges == nullptr) return;
  for (size_t i = 0; i < merges->size(); ++i) {
    const std::string& merge = *(*merges)[i].as_string();
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos) {
      throw ModelError(fmt::format("{}: tokenizer.ggml.merges[{}] \"{}\" is not two tokens as \"a b\"", file, i,
                                   merge));
    }
    v.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
  }
}

// [CLS] and [SEP] as llama.cpp takes them: [CLS] is the BOS (older converters
// wrote only cls_token_id); an id the file lacks is BERT's own where the
// vocabulary is that large (llama.cpp's defaults for "bert").
void read_word_piece_specials(const model::Metadata& m, std::string_view file, Vocab& v) {
  const size_t n = v.size();
  const auto or_bert_id = [n](TokenId id, TokenId bert) { return id >= 0 ? id : size_t(bert) < n ? bert : -1; };
  v.cls = or_bert_id(v.bos >= 0 ? v.bos : id_key(m, "tokenizer.ggml.cls_token_id", file, n), 101);
  v.sep = or_bert_id(id_key(m, "tokenizer.ggml.seperator_token_id", file, n), 102);  // llama.cpp's spelling
  v.unk = or_bert_id(v.unk, 100);
}

}  // namespace

TokenId Vocab::id_of(std::string_view text) const {
  const auto it = ids.find(text);
  return it == ids.end() ? -1 : it->second;
}

Vocab vocab_from_metadata(const model::Metadata& m, std::string_view file) {
  Vocab v;
  v.model = tokenizer_model(m, file);
  if (const std::string* name = string_key(m, "general.name", file)) v.name = *name;
  if (const std::string* pre = string_key(m, "tokenizer.ggml.pre", file)) v.pre = *pre;
  read_tokens(m, file, v);
  if (const auto* scores = per_token_array(m, "tokenizer.ggml.scores", file, "number", is_number, v.size())) {
    for (const MetaValue& score : *scores) v.scores.push_back(float(*score.as_float()));
  }
  read_token_types(m, file, v);
  read_merges(m, file, v);
  const size_t n = v.tokens.size();
  v.bos = id_key(m, "tokenizer.ggml.bos_token_id", file, n);
  v.eos = id_key(m, "tokenizer.ggml.eos_token_id", file, n);
  v.unk = id_key(m, "tokenizer.ggml.unknown_token_id", file, n);
  v.pad = id_key(m, "tokenizer.ggml.padding_token_id", file, n);
  // llama.cpp's defaults: SentencePiece adds BOS, byte-level BPE does not.
  v.add_bos = flag(m, "tokenizer.ggml.add_bos_token", file, v.model == "llama");
  v.add_eos = flag(m, "tokenizer.ggml.add_eos_token", file, false);
  v.add_space_prefix = flag(m, "tokenizer.ggml.add_space_prefix", file, v.model == "llama");
  if (v.model == "bert") read_word_piece_specials(m, file, v);
  // As BertNormalizer: accents are stripped when lowercasing unless the file says otherwise.
  v.lowercase = flag(m, "tokenizer.ggml.normalizer.lowercase", file, true);
  v.strip_accents = flag(m, "tokenizer.ggml.normalizer.strip_accents", file, v.lowercase);
  if (const std::string* chat_template = string_key(m, "tokenizer.chat_template", file)) {
    v.chat_template = *chat_template;
  }
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
