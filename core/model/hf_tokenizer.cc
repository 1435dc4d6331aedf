#include "core/model/hf_tokenizer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/base/log.h"
#include "core/model/model_error.h"
#include "core/model/sentencepiece_model.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;
using simdjson::dom::element;

constexpr uint64_t kMaxTextFileBytes = 100'000'000;  // the limit safetensors_reader holds JSON files to
constexpr uint64_t kMaxSentencePieceBytes = 64 << 20;
constexpr uint64_t kMaxVocabSize = 1 << 24;  // 64× the largest vocabularies in use; bounds what we allocate
// config.json's vocab_size pads the tokens found, by a few hundred in the models in use: past as many again (or
// this many, for a small vocabulary) it is damage, refused before millions of pad tokens are made.
constexpr uint64_t kMaxPadTokens = 1 << 16;

// ------------------------------------------------------------------- files

// Without throwing on an unreadable directory: such a path is as good as absent.
bool is_file(const fs::path& path) {
  std::error_code ignored;
  return fs::is_regular_file(path, ignored);
}

std::string read_file(const fs::path& path, uint64_t limit) {
  const std::string name = path.filename().string();
  std::error_code error;
  const uint64_t size = fs::file_size(path, error);
  if (error) throw ModelError(fmt::format("{}: cannot read ({})", name, error.message()));
  if (size > limit) throw ModelError(fmt::format("{}: {} bytes is over the limit of {}", name, size, limit));
  std::string bytes(size, '\0');
  std::ifstream in(path, std::ios::binary);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw ModelError(fmt::format("{}: cannot read", name));
  }
  return bytes;
}

// A parsed JSON file. The parser owns the document `root` points into, so it is
// held by pointer: moving a JsonFile must not move the document.
struct JsonFile {
  std::string name;
  std::unique_ptr<simdjson::dom::parser> parser;
  element root;

  ModelError error(std::string_view field, std::string_view problem) const {
    return ModelError(fmt::format("{}: {}: {}", name, field, problem));
  }
};

// The JSON object in `directory`/`name`, or nothing when there is no such file.
std::optional<JsonFile> load_json(const fs::path& directory, std::string_view name) {
  const fs::path path = directory / name;
  if (!is_file(path)) return std::nullopt;
  const std::string text = read_file(path, kMaxTextFileBytes);
  JsonFile file{std::string(name), std::make_unique<simdjson::dom::parser>(), {}};
  if (const auto error = file.parser->parse(text).get(file.root)) {
    throw ModelError(fmt::format("{}: not valid JSON ({})", name, simdjson::error_message(error)));
  }
  if (!file.root.is_object()) throw ModelError(fmt::format("{}: not a JSON object", name));
  return file;
}

// For the functions that take an optional file as a pointer.
const JsonFile* or_null(const std::optional<JsonFile>& file) { return file ? &*file : nullptr; }

// Python's dict.get: the member `key` of `object`, nothing when absent, null, or not an object.
std::optional<element> member(element object, std::string_view key) {
  element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

std::optional<std::string_view> string_member(element object, std::string_view key) {
  std::string_view text;
  const std::optional<element> value = member(object, key);
  if (!value || value->get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  return text;
}

std::optional<bool> bool_member(element object, std::string_view key) {
  bool flag = false;
  const std::optional<element> value = member(object, key);
  if (!value || value->get_bool().get(flag) != simdjson::SUCCESS) return std::nullopt;
  return flag;
}

std::optional<int64_t> int_member(element object, std::string_view key) {
  int64_t number = 0;
  const std::optional<element> value = member(object, key);
  if (!value || value->get_int64().get(number) != simdjson::SUCCESS) return std::nullopt;
  return number;
}

uint32_t token_id(const JsonFile& file, std::string_view field, element value) {
  uint64_t id = 0;
  if (value.get_uint64().get(id) != simdjson::SUCCESS || id >= kMaxVocabSize) {
    throw file.error(field, fmt::format("id {} is not an integer in [0, {})", simdjson::minify(value),
                                        kMaxVocabSize));
  }
  return static_cast<uint32_t>(id);
}

// --------------------------------------------------------------- metadata

MetaValue string_array(std::vector<std::string> texts) {
  MetaArray items;
  items.reserve(texts.size());
  for (std::string& text : texts) items.push_back(meta::text(std::move(text)));
  return {MetaType::array, MetaType::string, std::move(items)};
}

// --------------------------------------------------------------- the vocabulary

// llama.cpp's token types are numbered as SentencePiece's piece types.
using TokenType = PieceType;

struct Vocab {
  std::vector<std::string> tokens;  // by id
  std::vector<TokenType> types;
  std::vector<float> scores;  // SentencePiece only
};

MetaValue type_array(const std::vector<TokenType>& types) {
  MetaArray items;
  items.reserve(types.size());
  for (const TokenType type : types) {
    items.push_back({MetaType::i32, MetaType::u32, int64_t{static_cast<int32_t>(type)}});
  }
  return {MetaType::array, MetaType::i32, std::move(items)};
}

MetaValue score_array(const std::vector<float>& scores) {
  MetaArray items;
  items.reserve(scores.size());
  for (const float score : scores) items.push_back({MetaType::f32, MetaType::u32, double{score}});
  return {MetaType::array, MetaType::f32, std::move(items)};
}

std::string pad_token(uint32_t id) { return fmt::format("[PAD{}]", id); }

// The converter's does_token_look_special: added tokens some models forget to mark special.
bool looks_special(std::string_view token) {
  const auto wrapped = [&](std::string_view open, std::string_view close) {
    return token.size() >= open.size() + close.size() && token.starts_with(open) && token.ends_with(close);
  };
  return token == "<pad>" || token == "<mask>" || token == "<2mass>" || token == "[@BOS@]" ||
         wrapped("<|", "|>") || wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

// llama.cpp expects user-defined tokens pre-normalized: SentencePiece's "▁" back to a space.
std::string with_spaces(std::string_view token) {
  constexpr std::string_view kSpaceMark = "\u2581";
  std::string text;
  for (size_t at = 0; at < token.size();) {
    if (token.substr(at).starts_with(kSpaceMark)) {
      text += ' ';
      at += kSpaceMark.size();
    } else {
      text += token[at++];
    }
  }
  return text;
}

// An added token as tokenizer.json's "added_tokens" or tokenizer_config.json's
// "added_tokens_decoder" lists it.
struct AddedToken {
  uint32_t id = 0;
  std::string content;
  bool special = false;
};

// Control when special (or looking it), else user-defined: as the converter types added tokens.
void set_added_token(Vocab& vocab, const AddedToken& added) {
  const bool control = added.special || looks_special(added.content);
  vocab.types[added.id] = control ? TokenType::control : TokenType::user_defined;
  vocab.tokens[added.id] = control ? added.content : with_spaces(added.content);
}

AddedToken parse_added_token(const JsonFile& file, std::string_view field, element entry,
                             std::optional<uint32_t> id) {
  if (!entry.is_object()) throw file.error(field, "not an object");
  const std::optional<std::string_view> content = string_member(entry, "content");
  if (!content) throw file.error(field, "\"content\" is missing or not a string");
  if (!id) {
    const std::optional<element> id_value = member(entry, "id");
    if (!id_value) throw file.error(field, "\"id\" is missing");
    id = token_id(file, field, *id_value);
  }
  return {*id, std::string(*content), bool_member(entry, "special").value_or(false)};
}

std::vector<AddedToken> tokenizer_json_added_tokens(const JsonFile& tokenizer) {
  std::vector<AddedToken> added;
  const std::optional<element> list = member(tokenizer.root, "added_tokens");
  if (!list) return added;
  simdjson::dom::array entries;
  if (list->get_array().get(entries) != simdjson::SUCCESS) throw tokenizer.error("added_tokens", "not a list");
  for (const element entry : entries) {
    added.push_back(parse_added_token(tokenizer, fmt::format("added_tokens[{}]", added.size()), entry, {}));
  }
  return added;
}

uint32_t checked_vocab_size(const JsonFile* config, uint64_t found) {
  std::optional<int64_t> size;
  if (config != nullptr) size = int_member(config->root, "vocab_size");
  if (size && (*size <= 0 || static_cast<uint64_t>(*size) > kMaxVocabSize)) {
    throw config->error("vocab_size", fmt::format("{} is not in [1, {}]", *size, kMaxVocabSize));
  }
  if (size && static_cast<uint64_t>(*size) > found + std::max(found, kMaxPadTokens)) {
    throw config->error("vocab_size", fmt::format("{} would pad the {} tokens found with {} more", *size, found,
                                                  static_cast<uint64_t>(*size) - found));
  }
  return static_cast<uint32_t>(size.value_or(static_cast<int64_t>(found)));
}

// The converter's get_vocab_base: model.vocab with the added tokens over it,
// padded to config.json's vocab_size.
Vocab bpe_vocab(const JsonFile& tokenizer, const std::vector<AddedToken>& added, const JsonFile* config) {
  simdjson::dom::object entries;
  if (tokenizer.root.at_pointer("/model/vocab").get_object().get(entries) != simdjson::SUCCESS) {
    throw tokenizer.error("model.vocab", "missing or not an object");
  }
  std::vector<std::pair<std::string_view, uint32_t>> listed;
  listed.reserve(entries.size());
  for (const auto [text, id] : entries) listed.emplace_back(text, token_id(tokenizer, "model.vocab", id));

  // Without config.json's vocab_size, the converter counts distinct token texts.
  std::unordered_set<std::string_view> texts;
  for (const auto& [text, id] : listed) texts.insert(text);
  for (const AddedToken& token : added) texts.insert(token.content);
  const uint32_t size = checked_vocab_size(config, texts.size());
  Vocab vocab{std::vector<std::string>(size), std::vector<TokenType>(size, TokenType::unused), {}};
  for (uint32_t id = 0; id < size; ++id) vocab.tokens[id] = pad_token(id);
  const auto check_id = [&](uint32_t id, std::string_view field) {
    if (id >= size) {
      throw tokenizer.error(field, fmt::format("id {} is not below the vocabulary size {}", id, size));
    }
  };
  for (const auto& [text, id] : listed) {
    check_id(id, "model.vocab");
    vocab.tokens[id] = text;
    vocab.types[id] = TokenType::normal;
  }
  for (const AddedToken& token : added) {
    check_id(token.id, "added_tokens");
    set_added_token(vocab, token);
  }
  return vocab;
}

TokenType token_type_of(PieceType piece) {
  // The converter asks IsUnknown/IsControl/IsUnused/IsByte; a user-defined piece answers none.
  return piece == PieceType::user_defined ? TokenType::normal : piece;
}

// The converter's _create_vocab_sentencepiece: the pieces, padded to config.json's
// vocab_size, then added_tokens.json and tokenizer_config.json's added_tokens_decoder over them.
Vocab sentencepiece_vocab(const SentencePieceModel& model, const JsonFile* config,
                          const JsonFile* added_tokens, const JsonFile* tokenizer_config) {
  constexpr float kPadScore = -10000.0f;
  constexpr float kAddedScore = -1000.0f;
  const uint32_t size = checked_vocab_size(config, model.pieces.size());
  Vocab vocab{std::vector<std::string>(size), std::vector<TokenType>(size, TokenType::unused),
              std::vector<float>(size, kPadScore)};
  for (uint32_t id = 0; id < size; ++id) {
    if (id < model.pieces.size()) {
      vocab.tokens[id] = model.pieces[id].piece;
      vocab.types[id] = token_type_of(model.pieces[id].type);
      vocab.scores[id] = model.pieces[id].score;
    } else {
      vocab.tokens[id] = pad_token(id);
    }
  }
  if (model.pieces.size() > size) {
    log::warn("tokenizer.model: {} pieces, config.json's vocab_size {} drops the rest", model.pieces.size(),
              size);
  }
  const auto in_vocab = [&](const JsonFile& file, uint32_t id, std::string_view text) {
    if (id < size) return true;
    log::warn("{}: token {:?} has id {}, past the vocabulary size {}: skipped", file.name, text, id, size);
    return false;
  };
  if (added_tokens != nullptr) {
    simdjson::dom::object listed;
    if (added_tokens->root.get_object().get(listed) != simdjson::SUCCESS) {
      throw ModelError(fmt::format("{}: not a JSON object", added_tokens->name));
    }
    for (const auto [text, id_value] : listed) {
      const uint32_t id = token_id(*added_tokens, text, id_value);
      if (!in_vocab(*added_tokens, id, text)) continue;
      vocab.tokens[id] = text;
      vocab.types[id] = TokenType::user_defined;
      vocab.scores[id] = kAddedScore;
    }
  }
  const std::optional<element> decoder =
      tokenizer_config != nullptr ? member(tokenizer_config->root, "added_tokens_decoder") : std::nullopt;
  if (decoder) {
    simdjson::dom::object entries;
    if (decoder->get_object().get(entries) != simdjson::SUCCESS) {
      throw tokenizer_config->error("added_tokens_decoder", "not an object");
    }
    for (const auto [key, entry] : entries) {
      const std::string field = fmt::format("added_tokens_decoder[{:?}]", key);
      uint32_t id = 0;
      const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (error != std::errc() || end != key.data() + key.size()) {
        throw tokenizer_config->error(field, "the key is not a token id");
      }
      const AddedToken token = parse_added_token(*tokenizer_config, field, entry, id);
      if (!in_vocab(*tokenizer_config, id, token.content)) continue;
      set_added_token(vocab, token);
      vocab.scores[id] = kAddedScore;
    }
  }
  return vocab;
}

// ----------------------------------------------------------- pre-tokenizer

// tokenizer.json's "pre_tokenizer" in a canonical one-line form, defaults filled in.
std::string pre_tokenizer_signature(element node) {
  const std::string_view type = string_member(node, "type").value_or("?");
  if (type == "Sequence") {
    std::vector<std::string> parts;
    simdjson::dom::array steps;
    if (node["pretokenizers"].get_array().get(steps) == simdjson::SUCCESS) {
      for (const element step : steps) parts.push_back(pre_tokenizer_signature(step));
    }
    return fmt::format("Sequence[{}]", fmt::join(parts, ","));
  }
  if (type == "ByteLevel") {
    return fmt::format("ByteLevel(add_prefix_space={},use_regex={})",
                       bool_member(node, "add_prefix_space").value_or(true),
                       bool_member(node, "use_regex").value_or(true));
  }
  if (type == "Digits") {
    return fmt::format("Digits(individual_digits={})", bool_member(node, "individual_digits").value_or(false));
  }
  if (type == "Split") {
    const std::optional<element> pattern = member(node, "pattern");
    const std::optional<std::string_view> regex = pattern ? string_member(*pattern, "Regex") : std::nullopt;
    const std::optional<std::string_view> text = pattern ? string_member(*pattern, "String") : std::nullopt;
    return fmt::format("Split({} /{}/,{},invert={})", regex ? "Regex" : "String",
                       regex.value_or(text.value_or("")), string_member(node, "behavior").value_or("?"),
                       bool_member(node, "invert").value_or(false));
  }
  return std::string(type);
}

// A Split on `pattern` then a regex-free ByteLevel: how Llama 3 and Qwen 2 spell their pre-tokenizers.
std::string split_then_byte_level(std::string_view pattern) {
  return fmt::format(
      "Sequence[Split(Regex /{}/,Isolated,invert=false),ByteLevel(add_prefix_space=false,use_regex=false)]",
      pattern);
}

// llama.cpp names the pre-tokenizer by hashing the tokenizer's output on a test
// text, which needs transformers; the structure that produces that output names it as well.
std::string pre_tokenizer_name(const JsonFile& tokenizer) {
  constexpr std::string_view kLlama3Pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  constexpr std::string_view kQwen2Pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::pair<std::string, std::string_view> kKnown[] = {
      {"ByteLevel(add_prefix_space=false,use_regex=true)", "gpt-2"},
      {"Sequence[Digits(individual_digits=true),ByteLevel(add_prefix_space=false,use_regex=true)]", "smollm"},
      {split_then_byte_level(kLlama3Pattern), "llama-bpe"},
      {split_then_byte_level(kQwen2Pattern), "qwen2"},
  };
  const std::optional<element> node = member(tokenizer.root, "pre_tokenizer");
  const std::string signature = node ? pre_tokenizer_signature(*node) : "none";
  for (const auto& [known, name] : kKnown) {
    if (signature == known) return std::string(name);
  }
  log::warn("{}: pre_tokenizer {} is not one we recognise; writing \"default\"", tokenizer.name, signature);
  return "default";
}

// ------------------------------------------------------------ special vocab

// gguf-py SpecialVocab's token types, in its order.
enum class Special { bos, eos, unk, sep, pad, cls, mask, eot, eom, count };

struct SpecialInfo {
  std::string_view name;     // "{name}_token" in tokenizer_config.json, "{name}_token_id" in config.json
  std::string_view id_key;   // GGUF
  std::string_view add_key;  // GGUF; empty where gguf-py writes no add flag
};

constexpr std::array<SpecialInfo, static_cast<size_t>(Special::count)> kSpecials = {{
    {"bos", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token"},
    {"eos", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_eos_token"},
    {"unk", "tokenizer.ggml.unknown_token_id", ""},
    {"sep", "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.add_sep_token"},  // sic: gguf-py's spelling
    {"pad", "tokenizer.ggml.padding_token_id", ""},
    {"cls", "tokenizer.ggml.cls_token_id", ""},
    {"mask", "tokenizer.ggml.mask_token_id", ""},
    {"eot", "tokenizer.ggml.eot_token_id", ""},
    {"eom", "tokenizer.ggml.eom_token_id", ""},
}};

const SpecialInfo& info(Special special) { return kSpecials[static_cast<size_t>(special)]; }

// tokenizer_config.json's "{type}_token": a string, or an AddedToken object's
// "content". gguf-py compares only the string form with post-processor tokens.
struct ConfiguredToken {
  std::string content;
  bool is_string = false;
};

using NamedTemplate = std::pair<std::string, std::string>;  // tokenizer.chat_template.{first}

struct ChatTemplates {
  std::optional<std::string> main;
  std::vector<NamedTemplate> named;
};

// What gguf-py's SpecialVocab collects, in the order it writes it.
struct SpecialVocab {
  std::vector<std::string> merges;
  std::vector<std::pair<Special, uint32_t>> ids;  // first one found per type wins
  std::vector<std::pair<Special, bool>> add;      // the last one set per type wins
  ChatTemplates chat_templates;

  void set_id(Special type, uint32_t id) {
    if (!has_id(type)) ids.emplace_back(type, id);
  }
  void set_add(Special type, bool flag) {
    const auto found = std::ranges::find(add, type, &std::pair<Special, bool>::first);
    if (found == add.end()) {
      add.emplace_back(type, flag);
    } else {
      found->second = flag;
    }
  }
  bool has_id(Special type) const {
    return std::ranges::find(ids, type, &std::pair<Special, uint32_t>::first) != ids.end();
  }
  bool has_add(Special type) const {
    return std::ranges::find(add, type, &std::pair<Special, bool>::first) != add.end();
  }
};

// Merges stored as "a b", or as ["a", "b"] (transformers ≥ 4.45) whose spaces
// gguf-py writes as U+0120 so that "a b" stays splittable.
std::vector<std::string> bpe_merges(const JsonFile& tokenizer) {
  std::vector<std::string> merges;
  simdjson::dom::array list;
  if (tokenizer.root.at_pointer("/model/merges").get_array().get(list) != simdjson::SUCCESS) return merges;
  const auto encode_spaces = [](std::string_view part) {
    std::string text;
    for (const char c : part) text += c == ' ' ? std::string_view("\u0120") : std::string_view(&c, 1);
    return text;
  };
  for (const element entry : list) {
    std::string_view text;
    simdjson::dom::array pair;
    std::string_view first;
    std::string_view second;
    if (entry.get_string().get(text) == simdjson::SUCCESS) {
      merges.emplace_back(text);
    } else if (entry.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2 &&
               pair.at(0).get_string().get(first) == simdjson::SUCCESS &&
               pair.at(1).get_string().get(second) == simdjson::SUCCESS) {
      merges.push_back(encode_spaces(first) + " " + encode_spaces(second));
    } else {
      throw tokenizer.error(fmt::format("model.merges[{}]", merges.size()),
                            "neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return merges;
}

std::optional<ConfiguredToken> configured_token(element tokenizer_config, std::string_view type) {
  const std::optional<element> entry = member(tokenizer_config, fmt::format("{}_token", type));
  if (!entry) return std::nullopt;
  std::string_view text;
  if (entry->get_string().get(text) == simdjson::SUCCESS) {
    if (text.empty()) return std::nullopt;  // falsy in Python, as absent
    return ConfiguredToken{std::string(text), true};
  }
  if (const std::optional<std::string_view> content = string_member(*entry, "content")) {
    return ConfiguredToken{std::string(*content), false};
  }
  return std::nullopt;
}

bool names(const std::optional<ConfiguredToken>& token, std::string_view content) {
  return token && token->is_string && token->content == content;
}

// The "id" of a template item {"SpecialToken": {"id": …}}; nothing for a sequence.
std::optional<std::string_view> special_token_of(element item) {
  const std::optional<element> special = member(item, "SpecialToken");
  return special ? string_member(*special, "id") : std::nullopt;
}

using ConfiguredTokens = std::array<std::optional<ConfiguredToken>, static_cast<size_t>(Special::count)>;

// gguf-py reads which special tokens the tokenizer adds from its post-processor;
// like gguf-py it understands only plain single-sequence templates.
void read_post_processor(const JsonFile& tokenizer, bool has_config, ConfiguredTokens& configured,
                         std::vector<Special>& types, SpecialVocab& special) {
  const std::optional<element> post_processor = member(tokenizer.root, "post_processor");
  if (!post_processor) return;
  auto& bos = configured[static_cast<size_t>(Special::bos)];
  auto& eos = configured[static_cast<size_t>(Special::eos)];
  auto& cls = configured[static_cast<size_t>(Special::cls)];
  auto& sep = configured[static_cast<size_t>(Special::sep)];
  std::vector<element> processors{*post_processor};
  simdjson::dom::array sequence;
  if (post_processor->at_key("processors").get_array().get(sequence) == simdjson::SUCCESS) {
    processors.assign(sequence.begin(), sequence.end());
  }
  for (const element processor : processors) {
    const std::string_view type = string_member(processor, "type").value_or("");
    if (type == "RobertaProcessing") {
      for (const Special added : {Special::bos, Special::eos, Special::sep}) special.set_add(added, true);
      const auto first_of = [&](std::string_view key, const std::optional<ConfiguredToken>& fallback) {
        std::string_view text;
        if (processor.at_key(key).at(0).get_string().get(text) == simdjson::SUCCESS) {
          return std::optional<ConfiguredToken>(ConfiguredToken{std::string(text), true});
        }
        return fallback;
      };
      if (!cls && has_config) cls = first_of("cls", bos);
      if (!sep && has_config) sep = first_of("sep", eos);
      continue;
    }
    if (type != "TemplateProcessing") continue;
    simdjson::dom::array single;
    if (processor.at_key("single").get_array().get(single) != simdjson::SUCCESS || single.size() < 2) continue;
    if (const std::optional<std::string_view> first = special_token_of(single.at(0).value_unsafe())) {
      if (!has_config) bos = ConfiguredToken{std::string(*first), true};
      const bool known = names(bos, *first) || names(cls, *first);
      special.set_add(Special::bos, known);
      if (!known) {
        log::warn("{}: unknown leading special token {:?} in TemplateProcessing", tokenizer.name, *first);
      }
    }
    const element last_item = single.at(single.size() - 1).value_unsafe();
    if (const std::optional<std::string_view> last = special_token_of(last_item)) {
      if (has_config && !names(eos, *last)) {
        // The configured eos stays known, as end of turn (or of message), while the template's becomes eos.
        const Special keep = std::ranges::find(types, Special::eot) == types.end()   ? Special::eot
                             : std::ranges::find(types, Special::eom) == types.end() ? Special::eom
                                                                                     : Special::count;
        if (keep == Special::count) {
          log::warn("{}: eos {:?} overridden by {:?} with no eot/eom left", tokenizer.name,
                    eos ? eos->content : "", *last);
        } else {
          types.push_back(keep);
          configured[static_cast<size_t>(keep)] = eos;
        }
      }
      eos = ConfiguredToken{std::string(*last), true};
      special.set_add(Special::eos, true);
    }
  }
}

// gguf-py keeps template names to [A-Za-z0-9_], one '_' per other character: they become GGUF key names.
std::string key_safe(std::string_view name) {
  std::string safe;
  for (const char c : name) {
    const bool continuation = (static_cast<unsigned char>(c) & 0xc0) == 0x80;  // of a UTF-8 character
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!continuation) safe += kept ? c : '_';
  }
  return safe;
}

ChatTemplates parse_chat_templates(const JsonFile& file, element value) {
  ChatTemplates templates;
  std::string_view text;
  simdjson::dom::array choices;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    templates.main = std::string(text);
    return templates;
  }
  if (value.get_array().get(choices) != simdjson::SUCCESS) {
    log::warn("{}: chat_template is neither a string nor a list: ignored", file.name);
    return templates;
  }
  for (const element choice : choices) {
    if (!choice.is_object()) throw file.error("chat_template", "a list entry is not an object");
    const std::string name = key_safe(string_member(choice, "name").value_or(""));
    const std::optional<std::string_view> body = string_member(choice, "template");
    if (name.empty() || !body) continue;
    if (name == "default") {
      templates.main = std::string(*body);
    } else if (const auto found = std::ranges::find(templates.named, name, &NamedTemplate::first);
               found != templates.named.end()) {
      found->second = *body;
    } else {
      templates.named.emplace_back(name, *body);
    }
  }
  return templates;
}

// tokenizer_config.json's chat_template, else chat_template.jinja's text, else chat_template.json's.
ChatTemplates chat_templates(const fs::path& directory, const JsonFile& tokenizer_config) {
  element value;
  if (tokenizer_config.root.at_key("chat_template").get(value) == simdjson::SUCCESS) {
    return value.is_null() ? ChatTemplates{} : parse_chat_templates(tokenizer_config, value);
  }
  if (is_file(directory / "chat_template.jinja")) {
    return {read_file(directory / "chat_template.jinja", kMaxTextFileBytes), {}};
  }
  const std::optional<JsonFile> file = load_json(directory, "chat_template.json");
  const std::optional<element> alternative = file ? member(file->root, "chat_template") : std::nullopt;
  return alternative ? parse_chat_templates(*file, *alternative) : ChatTemplates{};
}

struct TokenizerFiles {
  fs::path directory;
  std::optional<JsonFile> tokenizer;         // tokenizer.json
  std::optional<JsonFile> tokenizer_config;  // tokenizer_config.json
  std::optional<JsonFile> config;            // config.json
};

// gguf-py's SpecialVocab: merges (BPE only), special token ids and add flags, chat templates.
// `vocab_size` bounds the ids where the converter passes n_vocab (SentencePiece).
SpecialVocab special_vocab(const TokenizerFiles& files, bool with_merges, std::optional<uint32_t> vocab_size) {
  SpecialVocab special;
  std::vector<Special> types = {Special::bos, Special::eos, Special::unk, Special::sep,
                                Special::pad, Special::cls, Special::mask};
  const auto set_id = [&](Special type, int64_t id, std::string_view file) {
    if (id < 0) throw ModelError(fmt::format("{}: {} token id {} is negative", file, info(type).name, id));
    if (vocab_size && id >= *vocab_size) {
      log::warn("{}: {} token id {} is past the vocabulary size {}: skipped", file, info(type).name, id,
                *vocab_size);
      return;
    }
    special.set_id(type, static_cast<uint32_t>(id));
  };

  ConfiguredTokens configured;
  const auto slot = [&](Special type) -> std::optional<ConfiguredToken>& {
    return configured[static_cast<size_t>(type)];
  };
  const JsonFile* tokenizer_config = or_null(files.tokenizer_config);
  if (tokenizer_config != nullptr) {
    for (const Special type : types) slot(type) = configured_token(tokenizer_config->root, info(type).name);
  }
  std::vector<AddedToken> added;
  if (files.tokenizer) {
    if (with_merges) special.merges = bpe_merges(*files.tokenizer);
    added = tokenizer_json_added_tokens(*files.tokenizer);
    if (tokenizer_config != nullptr && !slot(Special::bos)) slot(Special::bos) = slot(Special::cls);
    if (tokenizer_config != nullptr && !slot(Special::eos)) slot(Special::eos) = slot(Special::sep);
    read_post_processor(*files.tokenizer, tokenizer_config != nullptr, configured, types, special);
  }
  if (tokenizer_config != nullptr) {
    special.chat_templates = chat_templates(files.directory, *tokenizer_config);
    for (const Special type : types) {
      if (!info(type).add_key.empty()) {
        const auto flag = bool_member(tokenizer_config->root, fmt::format("add_{}_token", info(type).name));
        if (flag) special.set_add(type, *flag);
      }
      if (!slot(type)) continue;
      // As gguf-py, ids come from tokenizer.json's added tokens only.
      const auto match = std::ranges::find(added, slot(type)->content, &AddedToken::content);
      if (match != added.end()) set_id(type, match->id, tokenizer_config->name);
    }
  }
  if (files.config) {
    for (const Special type : types) {
      if (const auto id = int_member(files.config->root, fmt::format("{}_token_id", info(type).name))) {
        set_id(type, *id, files.config->name);
      }
    }
  }
  return special;
}

// ------------------------------------------------------------- assembly

void append_special_vocab(Metadata& metadata, SpecialVocab special) {
  if (!special.merges.empty()) {
    metadata.emplace_back("tokenizer.ggml.merges", string_array(std::move(special.merges)));
  }
  for (const auto& [type, id] : special.ids) metadata.emplace_back(info(type).id_key, meta::u32(id));
  for (const auto& [type, flag] : special.add) metadata.emplace_back(info(type).add_key, meta::flag(flag));
  ChatTemplates& templates = special.chat_templates;
  std::vector<std::string> names;
  for (auto& [name, body] : templates.named) {
    metadata.emplace_back(fmt::format("tokenizer.chat_template.{}", name), meta::text(std::move(body)));
    names.push_back(name);
  }
  if (!names.empty()) metadata.emplace_back("tokenizer.chat_templates", string_array(std::move(names)));
  if (templates.main) {
    metadata.emplace_back("tokenizer.chat_template", meta::text(std::move(*templates.main)));
  }
}

void append_vocab(Metadata& metadata, std::string_view model, std::string pre, Vocab vocab) {
  metadata.emplace_back("tokenizer.ggml.model", meta::text(std::string(model)));
  metadata.emplace_back("tokenizer.ggml.pre", meta::text(std::move(pre)));
  metadata.emplace_back("tokenizer.ggml.tokens", string_array(std::move(vocab.tokens)));
  if (!vocab.scores.empty()) metadata.emplace_back("tokenizer.ggml.scores", score_array(vocab.scores));
  metadata.emplace_back("tokenizer.ggml.token_type", type_array(vocab.types));
}

// The converter's LlamaModel.set_vocab turns BOS off for 49152-token vocabularies (granite-small, SmolLM).
bool llama_without_bos(const JsonFile* config) {
  return config != nullptr && string_member(config->root, "model_type") == "llama" &&
         int_member(config->root, "vocab_size") == 49152;
}

Metadata bpe_metadata(const TokenizerFiles& files) {
  const JsonFile& tokenizer = *files.tokenizer;
  const std::optional<element> model = member(tokenizer.root, "model");
  const std::string_view type = model ? string_member(*model, "type").value_or("") : "";
  if (type != "BPE" || (model && bool_member(*model, "byte_fallback").value_or(false))) {
    throw tokenizer.error("model", fmt::format("type {:?}{} is not supported without tokenizer.model (byte-level "
                                               "BPE is)", type, type == "BPE" ? " with byte_fallback" : ""));
  }
  const JsonFile* config = or_null(files.config);
  Metadata metadata;
  append_vocab(metadata, "gpt2", pre_tokenizer_name(tokenizer),
               bpe_vocab(tokenizer, tokenizer_json_added_tokens(tokenizer), config));
  SpecialVocab special = special_vocab(files, true, std::nullopt);
  if (llama_without_bos(config)) special.set_add(Special::bos, false);
  append_special_vocab(metadata, std::move(special));
  return metadata;
}

Metadata sentencepiece_metadata(const TokenizerFiles& files) {
  const std::string bytes = read_file(files.directory / "tokenizer.model", kMaxSentencePieceBytes);
  const SentencePieceModel model = parse_sentencepiece_model(
      {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "tokenizer.model");
  const std::optional<JsonFile> added_tokens = load_json(files.directory, "added_tokens.json");
  Vocab vocab =
      sentencepiece_vocab(model, or_null(files.config), or_null(added_tokens), or_null(files.tokenizer_config));
  const auto size = static_cast<uint32_t>(vocab.tokens.size());
  Metadata metadata;
  append_vocab(metadata, "llama", "default", std::move(vocab));
  SpecialVocab special = special_vocab(files, false, size);
  // llama.cpp assumes the trainer's ids and BOS on for a SentencePiece vocabulary that
  // names none; written out, the file says what it means without that assumption.
  for (const auto& [type, id] : {std::pair(Special::bos, model.bos_id), std::pair(Special::eos, model.eos_id),
                                std::pair(Special::unk, model.unk_id)}) {
    if (!special.has_id(type) && id >= 0 && static_cast<uint32_t>(id) < size) special.set_id(type, id);
  }
  if (!special.has_add(Special::bos)) special.set_add(Special::bos, true);
  if (llama_without_bos(or_null(files.config))) special.set_add(Special::bos, false);
  append_special_vocab(metadata, std::move(special));
  return metadata;
}

}  // namespace

Metadata hf_tokenizer_metadata(const fs::path& directory) {
  const bool sentencepiece = is_file(directory / "tokenizer.model");
  if (!sentencepiece && !is_file(directory / "tokenizer.json")) return {};
  const TokenizerFiles files{directory, load_json(directory, "tokenizer.json"),
                             load_json(directory, "tokenizer_config.json"),
                             load_json(directory, "config.json")};
  return sentencepiece ? sentencepiece_metadata(files) : bpe_metadata(files);
}

}  // namespace rs::model
