// libFuzzer target: arbitrary bytes as a GGUF file. A bad file must be a
// ModelError, never a crash, a hang or a huge allocation (run under ASan + UBSan).
// A file that parses is also described as a model, and its vocabulary read:
// when that succeeds, its tokenizer encodes and decodes a short text.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/vocab.h"

namespace {

using namespace rs;

constexpr const char* kName = "fuzz.gguf";

void describe(const model::GgufFile& gguf) {
  try {
    model::describe_gguf(gguf, kName);
  } catch (const model::ModelError&) {
    // Most inputs are no model; a vocabulary-only file is none either, and goes on to tokenize().
  }
}

void tokenize(const model::GgufFile& gguf) {
  try {
    const tokenizer::Tokenizer tokenizer(tokenizer::vocab_from_metadata(gguf.metadata, kName));
    // Words, digits, non-ASCII, whitespace runs and a control token's text, parsed as special and not.
    for (const bool parse_special : {false, true}) {
      const std::vector<tokenizer::TokenId> ids = tokenizer.encode("Hello, w\xC3\xB6rld 123  <s>\n\t", true,
                                                                   parse_special);
      tokenizer.decode(ids);
    }
  } catch (const model::ModelError&) {
    // No vocabulary in the file, or one the tokenizers refuse.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const model::GgufFile gguf = model::parse_gguf(std::span(data, size), kName);
    describe(gguf);
    tokenize(gguf);
  } catch (const model::ModelError&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
