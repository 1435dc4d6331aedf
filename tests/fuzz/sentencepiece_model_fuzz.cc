// libFuzzer target: arbitrary bytes as a SentencePiece tokenizer.model (core/model/sentencepiece_model.h, the
// protobuf read by hand). A bad file must be a ModelError, never a crash, a hang or a huge allocation (ASan +
// UBSan); a model it accepts has only the piece types the proto defines.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/model/model_error.h"
#include "core/model/sentencepiece_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rs::model;
  try {
    const SentencePieceModel model = parse_sentencepiece_model(std::span(data, size), "tokenizer.model");
    for (const SentencePiece& piece : model.pieces) {
      if (piece.type < PieceType::normal || piece.type > PieceType::byte) __builtin_trap();
    }
  } catch (const ModelError&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
