// libFuzzer target: the tokenizers (SentencePiece, byte-level BPE with each pre-tokenizer, WordPiece) on the
// vocabularies under ../shared/tokenizers, or on small built-in ones where ../shared is absent. The first byte picks
// the vocabulary and what to do, the rest is the text. Checks that nothing crashes (run under ASan + UBSan), that
// every id is in the vocabulary, that decode(encode(text)) gives valid UTF-8 text back as Tokenizer promises it
// (SentencePiece and BPE: the text itself, SentencePiece reading "▁" as the space it stands for), and that
// StreamDecoder adds up to decode for any ids, the input's bytes read as ids included.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/byte_unicode.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/tokenizer/stream_decoder.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "tests/fuzz/fuzz_vocabularies.h"

namespace {

using namespace rs::tokenizer;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Every algorithm, and every byte-level BPE pre-tokenizer that has a vocabulary under ../shared/tokenizers.
constexpr const char* kSharedVocabs[] = {
    "llama2-vocab.gguf",                          // SentencePiece with byte fallback
    "ggml-vocab/ggml-vocab-phi-3.gguf",           // SentencePiece, user-defined tokens
    "ggml-vocab/ggml-vocab-baichuan.gguf",        // SentencePiece
    "llama3.2-vocab.gguf",                        // BPE llama-bpe
    "smollm2-vocab.gguf",                         // BPE smollm
    "ggml-vocab/ggml-vocab-gpt-2.gguf",           // BPE gpt-2
    "ggml-vocab/ggml-vocab-falcon.gguf",          // BPE falcon
    "ggml-vocab/ggml-vocab-starcoder.gguf",       // BPE starcoder
    "ggml-vocab/ggml-vocab-deepseek-coder.gguf",  // BPE deepseek-coder
    "ggml-vocab/ggml-vocab-deepseek-llm.gguf",    // BPE deepseek-llm
    "ggml-vocab/ggml-vocab-bert-bge.gguf",        // WordPiece
};
constexpr size_t kVocabCount = std::size(kSharedVocabs);

struct Loaded {
  Tokenizer tokenizer;
  // Decode gives any valid UTF-8 text back only where the vocabulary spells every byte: SentencePiece's byte
  // tokens, or byte-level BPE's 256 symbols (some vocabularies lack a few, whose bytes encode to nothing).
  bool round_trips;

  explicit Loaded(Vocab vocab) : tokenizer(std::move(vocab)), round_trips(spells_every_byte(tokenizer.vocab())) {}

  static bool spells_every_byte(const Vocab& vocab) {
    for (int b = 0; b < 256; ++b) {
      char byte_token[8];
      std::snprintf(byte_token, sizeof byte_token, "<0x%02X>", b);
      const bool spelled = vocab.model == "llama"  ? vocab.id_of(byte_token) >= 0
                           : vocab.model == "gpt2" ? vocab.id_of(byte_to_unicode(uint8_t(b))) >= 0
                                                   : false;
      if (!spelled) return false;
    }
    return true;
  }
};

// The tokenizer for the low 6 bits of the input's first byte, loaded on first use.
const Loaded& tokenizer_for(uint8_t selector) {
  selector &= 0x3F;
  static const std::optional<std::string> shared = rs::fuzz::shared_file("tokenizers");
  if (!shared) {
    static const Loaded spm(rs::fuzz::small_spm_vocab()), bpe(rs::fuzz::small_bpe_vocab());
    return selector % 2 ? bpe : spm;
  }
  static std::unique_ptr<const Loaded> loaded[kVocabCount];
  const size_t index = selector % kVocabCount;
  if (!loaded[index]) loaded[index] = std::make_unique<const Loaded>(read_vocab(*shared + "/" + kSharedVocabs[index]));
  return *loaded[index];
}

void check_ids(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  for (const TokenId id : ids) check(id >= 0 && size_t(id) < tokenizer.vocab().size());
}

// StreamDecoder's invariant: its pieces, one id at a time, add up to decode().
void check_stream(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, const std::string& decoded) {
  StreamDecoder decoder(tokenizer, tokenizer.adds_leading_space());
  std::string streamed;
  for (const TokenId id : ids) {
    const std::string piece = decoder.push(id);
    check(is_valid_utf8(piece));
    streamed += piece;
    check(decoder.pending_bytes() <= 3);
  }
  streamed += decoder.finish();
  check(streamed == decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Loaded& loaded = tokenizer_for(selector);
  const Tokenizer& tokenizer = loaded.tokenizer;

  if (selector & 0x80) {
    // The bytes as ids (4 each, little-endian): any id, in the vocabulary or not, decodes to valid UTF-8.
    std::vector<TokenId> ids(text.size() / 4);
    if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * 4);
    const std::string decoded = tokenizer.decode(ids);
    check(is_valid_utf8(decoded));
    check_stream(tokenizer, ids, decoded);
    return 0;
  }

  // Special tokens parsed, as for a chat template's output, with every third byte guarded as client text.
  std::vector<size_t> guards;
  for (size_t i = 0; i < text.size(); i += 3) guards.push_back(i);
  const std::vector<TokenId> parsed =
      tokenizer.encode(text, true, true, (selector & 0x40) ? guards : std::vector<size_t>{});
  check_ids(tokenizer, parsed);
  check(is_valid_utf8(tokenizer.decode(parsed)));

  // Plain text, as a client's prompt: the round trip.
  const std::vector<TokenId> ids = tokenizer.encode(text, false);
  check_ids(tokenizer, ids);
  const std::string decoded = tokenizer.decode(ids);
  check(is_valid_utf8(decoded));
  check_stream(tokenizer, ids, decoded);
  if (loaded.round_trips && is_valid_utf8(text)) {
    check(decoded == (tokenizer.vocab().model == "llama" ? unescape_spaces(text) : std::string(text)));
  }
  return 0;
}
