// libFuzzer target: structured output compilation (core/grammar). The first byte picks the notation (JSON Schema,
// json_object, regex, a JSON array of choices, GBNF); the text up to the first NUL is compiled for a small
// vocabulary, and what follows the NUL (up to 64 bytes) is read by a matcher. A refusal must be a GrammarError;
// a crash (ASan + UBSan), a compile past libFuzzer's -timeout or its memory limit fails. Where it compiles, the
// matcher is checked against the specification: a text it reads whole is complete exactly when
// grammar::matches() says so, a text it refuses matches() refuses, and the masks at the start and the end allow
// exactly the tokens whose bytes it can read (and the end token once complete, or where no token can be read).
// With the first byte's high bit set, the text is read over and over, up to 1,200 bytes: the depths a 64-byte
// text cannot reach (nesting up to the matcher's depth limit, long right recursion), where matches() is too slow
// to ask, so only the masks are checked.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/grammar/grammar.h"
#include "core/grammar/grammar_compiler.h"
#include "core/grammar/matcher.h"

namespace {

using namespace rs::grammar;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr size_t kMaxTextBytes = 64;
constexpr size_t kDeepTextBytes = 1200;  // past FrameArena::kMaxDepth where each byte nests once

// Every single byte, pieces of JSON and of words, multi-byte characters, and an end token that spells nothing.
std::vector<std::string> token_bytes() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, char(b));
  for (const char* json :
       {"{\"", "\":", "\",", "\"}", "\": \"", "true", "false", "null", "[]", "{}", "-1", ".5", "e+"}) {
    tokens.emplace_back(json);
  }
  for (const char* text :
       {"  ", "ab", "abc", "12", "\\\"", "\\u00", "\xC3\xA9", "\xE2\x96\x81", "\xF0\x9F\x99\x82", "\xE6\x97"}) {
    tokens.emplace_back(text);
  }
  tokens.emplace_back();
  return tokens;
}

const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> tokens = token_bytes();
  return tokens;
}

bool has(const std::vector<uint64_t>& bits, size_t token) { return (bits[token / 64] >> (token % 64)) & 1; }

// The matcher's mask against reading each token's bytes with it.
void check_mask(Matcher& matcher, const CompiledGrammar& grammar) {
  const std::vector<std::string>& tokens = vocabulary();
  std::vector<uint64_t> allowed((tokens.size() + 63) / 64);
  matcher.allowed(allowed);
  if (!matcher.failure().empty()) {  // a mask past its budget: nothing allowed, the sequence ends with the error
    for (const uint64_t w : allowed) check(w == 0);
    return;
  }
  const std::span<const TokenId> ends = grammar.end_tokens();
  bool any_readable = false;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const bool readable = !tokens[t].empty() && matcher.can_read(tokens[t]);
    any_readable |= readable;
    if (std::ranges::find(ends, TokenId(t)) == ends.end()) check(has(allowed, t) == readable);
  }
  for (const TokenId end : ends) check(has(allowed, size_t(end)) == (matcher.complete() || !any_readable));
  for (size_t t = tokens.size(); t < allowed.size() * 64; ++t) check(!has(allowed, t));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr SourceKind kKinds[] = {SourceKind::json_schema, SourceKind::json_object, SourceKind::regex,
                                          SourceKind::choice, SourceKind::gbnf};
  if (size < 1) return 0;
  const SourceKind kind = kKinds[(data[0] & 0x7F) % std::size(kKinds)];
  const bool deep = data[0] & 0x80;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.find('\0');
  const std::string_view source = input.substr(0, split);
  const std::string_view text =
      split == std::string_view::npos ? "" : input.substr(split + 1, std::min(kMaxTextBytes, input.size() - split - 1));

  const TokenId end = TokenId(vocabulary().size() - 1);
  GrammarCompiler compiler([] { return vocabulary(); }, {end});
  std::shared_ptr<const CompiledGrammar> compiled;
  try {
    compiled = compiler.compile(kind, source);
  } catch (const GrammarError&) {
    return 0;  // the expected outcome for most inputs
  }

  Matcher matcher(compiled);
  check_mask(matcher, *compiled);
  size_t read = 0;
  if (deep) {
    while (!text.empty() && read < kDeepTextBytes && matcher.read(text.substr(read % text.size(), 1))) ++read;
    check_mask(matcher, *compiled);
    return 0;
  }
  while (read < text.size() && matcher.read(text.substr(read, 1))) ++read;
  check_mask(matcher, *compiled);
  const bool matched = matches(grammar_from(kind, source), text);
  check(read == text.size() ? matcher.complete() == matched : !matched);
  return 0;
}
