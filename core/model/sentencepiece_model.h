#pragma once
// SentencePiece's tokenizer.model, a protobuf ModelProto, read by hand from the
// wire format: the pieces and the trainer's special ids, every other field skipped.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs::model {

// ModelProto.SentencePiece.Type, numbered as in sentencepiece_model.proto.
enum class PieceType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct SentencePiece {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::normal;
};

struct SentencePieceModel {
  std::vector<SentencePiece> pieces;  // in id order
  // TrainerSpec's special ids, defaulted as the proto defaults them; -1 is none.
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = -1;
};

// Parses a whole tokenizer.model held in memory; `name` stands for the file in
// errors. Throws ModelError naming the message and field at fault.
SentencePieceModel parse_sentencepiece_model(std::span<const uint8_t> bytes, std::string_view name);

}  // namespace rs::model
