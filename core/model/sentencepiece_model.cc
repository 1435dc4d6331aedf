#include "core/model/sentencepiece_model.h"

#include <fmt/format.h>

#include <bit>

#include "core/model/model_error.h"

namespace rs::model {
namespace {

enum class WireType : uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

std::string_view wire_type_name(WireType type) {
  switch (type) {
    case WireType::varint: return "varint";
    case WireType::fixed64: return "fixed64";
    case WireType::length_delimited: return "length-delimited";
    case WireType::fixed32: return "fixed32";
  }
  return "unknown";
}

struct Field {
  uint64_t number = 0;
  WireType wire_type = WireType::varint;
};

// One protobuf message's bytes, read front to back; no read passes its end.
class WireReader {
 public:
  // `offset` is where `bytes` start in the file, `message` names them in errors.
  WireReader(std::span<const uint8_t> bytes, std::string_view file, std::string message, size_t offset)
      : bytes_(bytes), file_(file), message_(std::move(message)), offset_(offset) {}

  bool at_end() const { return position_ == bytes_.size(); }

  Field next_field() {
    const uint64_t key = read_varint("a field key");
    const auto wire_type = static_cast<WireType>(key & 7);
    if (wire_type != WireType::varint && wire_type != WireType::fixed64 &&
        wire_type != WireType::length_delimited && wire_type != WireType::fixed32) {
      throw error(fmt::format("field {} has wire type {}, which this reader does not take", key >> 3, key & 7));
    }
    return {key >> 3, wire_type};
  }

  uint64_t varint(const Field& field) {
    expect(field, WireType::varint);
    return read_varint(fmt::format("field {}", field.number));
  }

  uint32_t fixed32(const Field& field) {
    expect(field, WireType::fixed32);
    const std::span<const uint8_t> bytes = take(4, field);
    uint32_t value = 0;
    for (size_t i = 0; i < bytes.size(); ++i) value |= uint32_t{bytes[i]} << (8 * i);
    return value;
  }

  // A nested message or a string: its bytes, and where they start in the file.
  std::pair<std::span<const uint8_t>, size_t> length_delimited(const Field& field) {
    expect(field, WireType::length_delimited);
    const uint64_t length = read_varint(fmt::format("the length of field {}", field.number));
    const size_t start = offset_ + position_;
    return {take(length, field), start};
  }

  void skip(const Field& field) {
    switch (field.wire_type) {
      case WireType::varint: varint(field); break;
      case WireType::fixed64: take(8, field); break;
      case WireType::length_delimited: length_delimited(field); break;
      case WireType::fixed32: fixed32(field); break;
    }
  }

  ModelError error(std::string_view problem) const {
    return ModelError(fmt::format("{}: {} at byte {}: {}", file_, message_, offset_ + position_, problem));
  }

 private:
  void expect(const Field& field, WireType wire_type) const {
    if (field.wire_type != wire_type) {
      throw error(fmt::format("field {} is {}, expected {}", field.number, wire_type_name(field.wire_type),
                              wire_type_name(wire_type)));
    }
  }

  uint64_t read_varint(std::string_view what) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_end()) throw error(fmt::format("{} is truncated", what));
      const uint8_t byte = bytes_[position_++];
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw error(fmt::format("{} is a varint longer than 10 bytes", what));
  }

  std::span<const uint8_t> take(uint64_t length, const Field& field) {
    if (length > bytes_.size() - position_) {
      throw error(fmt::format("field {} needs {} bytes, {} are left", field.number, length,
                              bytes_.size() - position_));
    }
    const std::span<const uint8_t> taken = bytes_.subspan(position_, length);
    position_ += length;
    return taken;
  }

  std::span<const uint8_t> bytes_;
  std::string_view file_;
  std::string message_;
  size_t offset_;
  size_t position_ = 0;
};

// ModelProto, SentencePiece and TrainerSpec field numbers from sentencepiece_model.proto.
constexpr uint64_t kModelPieces = 1;
constexpr uint64_t kModelTrainerSpec = 2;
constexpr uint64_t kPieceText = 1;
constexpr uint64_t kPieceScore = 2;
constexpr uint64_t kPieceType = 3;
constexpr uint64_t kTrainerUnkId = 40;
constexpr uint64_t kTrainerBosId = 41;
constexpr uint64_t kTrainerEosId = 42;
constexpr uint64_t kTrainerPadId = 43;

SentencePiece parse_piece(WireReader message) {
  SentencePiece piece;
  while (!message.at_end()) {
    const Field field = message.next_field();
    if (field.number == kPieceText) {
      const auto bytes = message.length_delimited(field).first;
      piece.piece.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } else if (field.number == kPieceScore) {
      piece.score = std::bit_cast<float>(message.fixed32(field));
    } else if (field.number == kPieceType) {
      const uint64_t type = message.varint(field);
      if (type < 1 || type > 6) throw message.error(fmt::format("type {} is not a SentencePiece type", type));
      piece.type = static_cast<PieceType>(type);
    } else {
      message.skip(field);
    }
  }
  return piece;
}

void parse_trainer_spec(WireReader message, SentencePieceModel& model) {
  while (!message.at_end()) {
    const Field field = message.next_field();
    // int32 fields: a negative value is sign-extended to 64 bits, so the low 32 bits are it.
    const auto int32_field = [&] { return static_cast<int32_t>(static_cast<uint32_t>(message.varint(field))); };
    if (field.number == kTrainerUnkId) {
      model.unk_id = int32_field();
    } else if (field.number == kTrainerBosId) {
      model.bos_id = int32_field();
    } else if (field.number == kTrainerEosId) {
      model.eos_id = int32_field();
    } else if (field.number == kTrainerPadId) {
      model.pad_id = int32_field();
    } else {
      message.skip(field);
    }
  }
}

}  // namespace

SentencePieceModel parse_sentencepiece_model(std::span<const uint8_t> bytes, std::string_view name) {
  SentencePieceModel model;
  WireReader message(bytes, name, "ModelProto", 0);
  while (!message.at_end()) {
    const Field field = message.next_field();
    if (field.number == kModelPieces) {
      const auto [piece, offset] = message.length_delimited(field);
      model.pieces.push_back(
          parse_piece(WireReader(piece, name, fmt::format("pieces[{}]", model.pieces.size()), offset)));
    } else if (field.number == kModelTrainerSpec) {
      const auto [spec, offset] = message.length_delimited(field);
      parse_trainer_spec(WireReader(spec, name, "trainer_spec", offset), model);
    } else {
      message.skip(field);
    }
  }
  if (model.pieces.empty()) throw message.error("no pieces");
  return model;
}

}  // namespace rs::model
