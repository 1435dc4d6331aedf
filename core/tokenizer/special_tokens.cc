#include "core/tokenizer/special_tokens.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace rs::tokenizer {
namespace {

bool is_special(TokenType type) {
  return type == TokenType::control || type == TokenType::user_defined || type == TokenType::unknown;
}

// Texts llama.cpp takes for end of generation whatever the vocabulary says
// (llama-vocab.cpp, special_eog_ids): such a token that is not a control token
// is made one, so that, say, Phi-3's user-defined "</s>" is parsed only with
// parse_special. (Its end-of-turn, end-of-message texts are among these.)
constexpr std::string_view kEndOfGeneration[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
};

// The token types llama.cpp tokenizes with: the vocabulary's, retyped by text
// as llama.cpp's loader does. Not done: its fill-in-the-middle texts ("<PRE>",
// "<|fim_prefix|>", …), retyped only when the GGUF names no such token, and only
// the first one found; real vocabularies mark them control already.
std::vector<TokenType> llama_cpp_types(const Vocab& vocab) {
  std::vector<TokenType> types = vocab.types;
  types.resize(vocab.size(), TokenType::normal);
  const auto retype = [&](std::string_view text, TokenType type) {
    if (const TokenId id = vocab.id_of(text); id >= 0) types[size_t(id)] = type;
  };
  const auto has = [&](std::string_view text) { return vocab.id_of(text) >= 0; };
  for (const std::string_view text : kEndOfGeneration) {
    if (const TokenId id = vocab.id_of(text); id >= 0 && types[size_t(id)] != TokenType::control) {
      types[size_t(id)] = TokenType::control;
    }
  }
  // gpt-oss: always rendered, so always parsed.
  for (const std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    retype(text, TokenType::user_defined);
  }
  // o200k_harmony and solar-open: "<|end|>" is no end of generation there.
  const bool has_call = has("<|call|>") || has("<|calls|>");
  if (has("<|end|>") && has_call && (has("<|return|>") || has("<|flush|>"))) retype("<|end|>", TokenType::user_defined);
  // Gemma 4 and PaddleOCR: "</s>" is plain text.
  if (has("<|tool_response>") && has("</s>")) retype("</s>", TokenType::normal);
  return types;
}

// llama.cpp's per-model attributes: Phi-3's special tokens eat the whitespace after them.
bool strips_right(const Vocab& vocab, std::string_view text) {
  std::string name = vocab.name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return false;
  return text != "<unk>" && text != "<s>" && text != "<|endoftext|>";
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Whether one of the ascending `guards` lies in [begin, begin + size).
bool covers_guard(std::span<const size_t> guards, size_t begin, size_t size) {
  const auto first = std::lower_bound(guards.begin(), guards.end(), begin);
  return first != guards.end() && *first < begin + size;
}

}  // namespace

std::vector<TokenId> end_of_generation_tokens(const Vocab& vocab) {
  std::vector<TokenId> eog;
  if (vocab.eos >= 0) eog.push_back(vocab.eos);
  const std::vector<TokenType> types = llama_cpp_types(vocab);
  for (const std::string_view text : kEndOfGeneration) {
    const TokenId id = vocab.id_of(text);
    if (id >= 0 && types[size_t(id)] == TokenType::control && std::find(eog.begin(), eog.end(), id) == eog.end()) {
      eog.push_back(id);
    }
  }
  return eog;
}

SpecialTokens::SpecialTokens(const Vocab& vocab) {
  const std::vector<TokenType> types = llama_cpp_types(vocab);
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& text = vocab.tokens[id];
    if (!is_special(types[id]) || text.empty()) continue;
    specials_.push_back({text, TokenId(id), types[id] == TokenType::user_defined, strips_right(vocab, text)});
    starts_special_[uint8_t(text[0])] = true;
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
}

std::vector<const SpecialTokens::Special*> SpecialTokens::present_in(std::string_view text,
                                                                     bool parse_special) const {
  std::vector<bool> present(specials_.size(), false);
  for (size_t at = 0; at < text.size(); ++at) {
    if (!starts_special_[uint8_t(text[at])]) continue;
    const std::string_view rest = text.substr(at);
    for (size_t i = 0; i < specials_.size(); ++i) {
      if (!present[i] && (parse_special || specials_[i].always) && rest.starts_with(specials_[i].text)) {
        present[i] = true;
      }
    }
  }
  std::vector<const Special*> found;
  for (size_t i = 0; i < specials_.size(); ++i) {
    if (present[i]) found.push_back(&specials_[i]);
  }
  return found;
}

std::vector<std::string_view> SpecialTokens::parsed_texts() const {
  std::vector<std::string_view> texts;
  for (const Special& special : specials_) {
    if (!special.always) texts.push_back(special.text);
  }
  return texts;
}

std::vector<Fragment> SpecialTokens::partition(std::string_view text, bool parse_special,
                                               std::span<const size_t> guards) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({text});
  // A token missing from the whole text is missing from every piece of it: most texts skip the loop.
  for (const Special* special : present_in(text, parse_special)) {
    std::vector<Fragment> next;
    for (const Fragment& fragment : fragments) {
      if (fragment.id >= 0) {
        next.push_back(fragment);
        continue;
      }
      std::string_view rest = fragment.text;  // raw fragments are views into `text`
      size_t from = 0;
      for (size_t at = rest.find(special->text); at != std::string_view::npos; at = rest.find(special->text, from)) {
        if (!special->always && covers_guard(guards, size_t(rest.data() - text.data()) + at, special->text.size())) {
          from = at + 1;
          continue;
        }
        if (at > 0) next.push_back({rest.substr(0, at)});
        next.push_back({special->text, special->id});
        rest.remove_prefix(at + special->text.size());
        from = 0;
        if (special->rstrip) {
          while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        }
      }
      if (!rest.empty()) next.push_back({rest});
    }
    fragments = std::move(next);
  }
  return fragments;
}

}  // namespace rs::tokenizer
