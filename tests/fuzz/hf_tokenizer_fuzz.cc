// libFuzzer target: a Hugging Face model directory's tokenizer files (core/model/hf_tokenizer.h), as the input
// splits at NUL bytes: tokenizer.json, tokenizer_config.json, config.json, added_tokens.json, chat_template.jinja
// (an empty part is a file left out). When the first byte is odd, a small valid SentencePiece tokenizer.model is
// there too, so the SentencePiece path reads the JSON files. The files are written to a scratch directory of this
// process (scratch_directory.h). A bad file must be a ModelError; a crash (ASan + UBSan), a hang or a huge allocation
// fails. Metadata the reader accepts must make a vocabulary, or be refused by it with a ModelError, and that tokenizer
// encodes and decodes a short text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/hf_tokenizer.h"
#include "core/model/model_error.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/fuzz/scratch_directory.h"

namespace {

using namespace rs;

constexpr const char* kFiles[] = {"tokenizer.json", "tokenizer_config.json", "config.json", "added_tokens.json",
                                  "chat_template.jinja"};

void append_varint(std::string& out, uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(char(value | 0x80));
  out.push_back(char(value));
}

// A ModelProto of <unk>, <s>, </s>, the 256 byte pieces and a few words, as sentencepiece writes it.
std::string sentencepiece_model() {
  std::string model;
  const auto add = [&](std::string_view text, float score, int type) {
    std::string piece;
    piece.push_back(0x0A);  // field 1, length-delimited: the text
    append_varint(piece, text.size());
    piece += text;
    piece.push_back(0x15);  // field 2, fixed32: the score
    piece.append(reinterpret_cast<const char*>(&score), 4);
    piece.push_back(0x18);  // field 3, varint: the type
    append_varint(piece, uint64_t(type));
    model.push_back(0x0A);  // ModelProto field 1: a piece
    append_varint(model, piece.size());
    model += piece;
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, 6);
  }
  float score = -1;
  for (const char* word : {"\xE2\x96\x81", "a", "b", "c", "\u2581a", "ab", "<|im_start|>"}) {
    add(word, score--, std::string_view(word).starts_with("<|") ? 4 : 1);
  }
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::ScratchDirectory scratch("hf_tokenizer_fuzz");
  static const std::string spm_model = sentencepiece_model();
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const char* name : kFiles) {
    const size_t split = rest.find('\0');
    scratch.write(name, rest.substr(0, split));
    rest.remove_prefix(split == std::string_view::npos ? rest.size() : split + 1);
  }
  scratch.write("tokenizer.model", data[0] % 2 ? spm_model : "");

  try {
    const model::Metadata metadata = model::hf_tokenizer_metadata(scratch.path());
    if (metadata.empty()) return 0;
    const tokenizer::Tokenizer tokenizer(tokenizer::vocab_from_metadata(metadata, scratch.path().string()));
    for (const bool parse_special : {false, true}) {
      tokenizer.decode(tokenizer.encode("Hello, w\xC3\xB6rld 123  <s><|im_start|>\n\t", true, parse_special));
    }
  } catch (const model::ModelError&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
