#include "core/model/encoder_desc.h"

namespace rs::model {

namespace {

// llama.cpp's LLAMA_POOLING_TYPE_MEAN and LLAMA_POOLING_TYPE_CLS.
constexpr uint32_t kGgufMean = 1;
constexpr uint32_t kGgufCls = 2;

}  // namespace

std::string_view pooling_name(Pooling pooling) { return pooling == Pooling::mean ? "mean" : "cls"; }

uint32_t gguf_pooling_type(Pooling pooling) { return pooling == Pooling::mean ? kGgufMean : kGgufCls; }

std::optional<Pooling> pooling_from_gguf(uint64_t type) {
  if (type == kGgufMean) return Pooling::mean;
  if (type == kGgufCls) return Pooling::cls;
  return std::nullopt;
}

}  // namespace rs::model
