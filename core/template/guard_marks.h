#pragma once
// Guard marks: how a rendered chat prompt tells where the client's text spells
// a special token (a user's "<|eot_id|>"), so that the tokenizer reads it as
// text while the template's own markers stay special tokens. Before rendering,
// the client's strings get a mark, the byte 0xFF, which UTF-8 never holds
// (client strings are valid UTF-8, and so are templates), before a byte of
// every such spelling; the mark travels with the client's text through the
// template's string operations, and is taken out of the output, its place kept
// as a guarded offset that no special token may cover.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/template/value.h"

namespace rs::chat {

inline constexpr char kGuardMark = '\xFF';

// The special-token texts a client must not forge, indexed by their first byte.
class ForgeableTexts {
 public:
  explicit ForgeableTexts(std::span<const std::string_view> texts);

  // `text` with a mark on the second code point (or the only one) of every
  // spelling of a forgeable text in it, in any ASCII case, and of every start
  // of one at its end, which the next string in the prompt could complete.
  std::string marked_text(std::string_view text) const;
  // `value` with every string in it marked, object keys included.
  jinja::Value marked(const jinja::Value& value) const;

 private:
  std::vector<std::string_view> starting_with_[256];
};

// A rendered prompt without its marks, and where they were.
struct GuardedText {
  std::string text;
  std::vector<size_t> guards;  // ascending offsets into `text` of the bytes after marks
};

GuardedText take_guard_marks(std::string_view marked);

}  // namespace rs::chat
