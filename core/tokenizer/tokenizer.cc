#include "core/tokenizer/tokenizer.h"

#include "core/tokenizer/utf8.h"

namespace rs::tokenizer {
namespace {

std::variant<SpmTokenizer, BpeTokenizer, WpmTokenizer> algorithm_for(const Vocab& vocab) {
  if (vocab.model == "llama") return SpmTokenizer(vocab);
  if (vocab.model == "bert") return WpmTokenizer(vocab);
  return BpeTokenizer(vocab);
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab)
    : vocab_(std::make_unique<const Vocab>(std::move(vocab))), algorithm_(algorithm_for(*vocab_)),
      special_tokens_(*vocab_) {
  const bool word_piece = vocab_->model == "bert";
  opening_token_ = word_piece ? vocab_->cls : vocab_->add_bos ? vocab_->bos : -1;
  closing_token_ = word_piece ? vocab_->sep : vocab_->add_eos ? vocab_->eos : -1;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special,
                                       std::span<const size_t> guards) const {
  std::vector<TokenId> ids;
  if (add_special && opening_token_ >= 0) ids.push_back(opening_token_);
  // SentencePiece puts its "▁" before the text and again after each special token, as llama.cpp does.
  bool after_special = true;
  for (const Fragment& fragment : special_tokens_.partition(text, parse_special, guards)) {
    if (fragment.id >= 0) {
      ids.push_back(fragment.id);
      after_special = true;
      continue;
    }
    std::vector<TokenId> body;
    if (const auto* spm = std::get_if<SpmTokenizer>(&algorithm_)) {
      body = spm->encode(fragment.text, vocab_->add_space_prefix && after_special);
    } else if (const auto* wpm = std::get_if<WpmTokenizer>(&algorithm_)) {
      body = wpm->encode(fragment.text);
    } else {
      body = std::get<BpeTokenizer>(algorithm_).encode(fragment.text);
    }
    ids.insert(ids.end(), body.begin(), body.end());
    after_special = false;
  }
  if (add_special && closing_token_ >= 0) ids.push_back(closing_token_);
  return ids;
}

std::string Tokenizer::piece(TokenId id) const {
  return std::visit([&](const auto& a) { return a.piece(id); }, algorithm_);
}

bool Tokenizer::adds_leading_space() const {
  return (vocab_->model == "llama" && vocab_->add_space_prefix) || vocab_->model == "bert";
}

std::string Tokenizer::decode(std::span<const TokenId> ids) const {
  std::string text;
  for (const TokenId id : ids) text += piece(id);
  if (adds_leading_space() && text.starts_with(' ')) text.erase(0, 1);
  // Byte tokens may leave characters incomplete or invalid: U+FFFD, as StreamDecoder emits them.
  return replace_invalid_utf8(text);
}

}  // namespace rs::tokenizer
