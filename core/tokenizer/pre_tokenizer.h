#pragma once
// Splits text into the pieces that byte-level BPE merges within, with the
// regexes llama.cpp applies for each tokenizer.ggml.pre (llama-vocab.cpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rs::tokenizer {

// Length of the UTF-8 sequence at `s[i]` when it is one llama.cpp decodes
// (unicode_cpt_from_utf8: lead bits and continuation bytes only, so overlong
// forms, surrogates and values past U+10FFFF pass), its code point in `cp`;
// else 0, where llama.cpp reads U+FFFD and moves on one byte.
size_t llama_sequence_length(std::string_view s, size_t i, uint32_t& cp);

// Appends the UTF-8 of `cp` (at most U+1FFFFF) to `out`.
void append_utf8(std::string& out, uint32_t cp);

// `text` as llama.cpp decodes it: every byte that does not start a
// well-formed sequence becomes U+FFFD, so that the regexes only see UTF-8.
std::string to_valid_utf8(std::string_view text);

// Whether to_valid_utf8(text) differs from `text` (most text needs no copy).
bool needs_utf8_repair(std::string_view text);

class PreTokenizer {
 public:
  // Throws model::ModelError for a pre type it does not know.
  explicit PreTokenizer(std::string_view pre);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Each regex in turn splits every piece the previous one left: its matches
  // and the text between them become pieces. `text` must be valid UTF-8.
  std::vector<std::string_view> split(std::string_view text) const;

  // Calls emit(piece) for each piece split(text) returns, in order, without
  // making the list.
  template <typename Emit>
  void for_each_piece(std::string_view text, Emit&& emit) const {
    using Function = std::remove_reference_t<Emit>;
    for_each_piece(text, [](void* f, std::string_view piece) { (*static_cast<Function*>(f))(piece); },
                   const_cast<void*>(static_cast<const void*>(&emit)));
  }
  using Callback = void (*)(void* context, std::string_view piece);
  void for_each_piece(std::string_view text, Callback callback, void* context) const;

  // llama.cpp skips the merges for a piece that is a token by itself (Llama 3).
  bool ignore_merges() const { return ignore_merges_; }

 private:
  struct Regex;
  struct MatchData;
  void split_from(size_t level, std::string_view piece, MatchData& match, Callback callback, void* context) const;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool ignore_merges_ = false;
};

}  // namespace rs::tokenizer
