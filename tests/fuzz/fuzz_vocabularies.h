#pragma once
// What the fuzz targets that tokenize share: the files under ../shared (found from the source tree, wherever the
// target runs), and small vocabularies built in memory for where ../shared is absent, so the targets still run.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/tokenizer/byte_unicode.h"
#include "core/tokenizer/vocab.h"

namespace rs::fuzz {

// The path of `relative` under ../shared, or none (said once on stderr) when it is absent.
inline std::optional<std::string> shared_file(std::string_view relative) {
  std::string path = RINGSERVE_SOURCE_DIR "/../shared/";
  path += relative;
  if (std::filesystem::exists(path)) return path;
  std::fprintf(stderr, "%s is absent: a built-in stand-in is used\n", path.c_str());
  return std::nullopt;
}

// A SentencePiece vocabulary: control tokens, the 256 byte tokens, and a few pieces with scores.
inline tokenizer::Vocab small_spm_vocab() {
  using tokenizer::TokenType;
  tokenizer::Vocab v;
  v.model = "llama";
  const auto add = [&](std::string text, TokenType type, float score) {
    v.ids.emplace(text, tokenizer::TokenId(v.tokens.size()));
    v.tokens.push_back(std::move(text));
    v.types.push_back(type);
    v.scores.push_back(score);
  };
  add("<unk>", TokenType::unknown, 0);
  add("<s>", TokenType::control, 0);
  add("</s>", TokenType::control, 0);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, TokenType::byte, 0);
  }
  float score = -1;
  for (const char* text : {"\xE2\x96\x81", "e", "t", "h", "a", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "in",
                           "\u2581a", "er", "\xC3\xA9", "\xE6\x97\xA5"}) {
    add(text, TokenType::normal, score--);
  }
  v.unk = 0, v.bos = 1, v.eos = 2;
  v.add_bos = true;
  return v;
}

// A byte-level BPE vocabulary: the 256 byte symbols, a few merges, and an end-of-text control token.
inline tokenizer::Vocab small_bpe_vocab() {
  using tokenizer::TokenType;
  tokenizer::Vocab v;
  v.model = "gpt2";
  v.pre = "default";
  const auto add = [&](std::string text, TokenType type) {
    v.ids.emplace(text, tokenizer::TokenId(v.tokens.size()));
    v.tokens.push_back(std::move(text));
    v.types.push_back(type);
  };
  for (int b = 0; b < 256; ++b) add(std::string(tokenizer::byte_to_unicode(uint8_t(b))), TokenType::normal);
  for (const auto& [left, right] : {std::pair("\xC4\xA0", "t"), std::pair("h", "e"), std::pair("\xC4\xA0t", "he"),
                                    std::pair("i", "n"), std::pair("e", "r")}) {
    v.merges.emplace_back(left, right);
    add(std::string(left) + right, TokenType::normal);
  }
  add("<|endoftext|>", TokenType::control);
  v.eos = tokenizer::TokenId(v.tokens.size() - 1);
  return v;
}

}  // namespace rs::fuzz
