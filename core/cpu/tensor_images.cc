#include "core/cpu/tensor_images.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "core/base/log.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"

namespace rs::cpu {

using model::ModelError;
using model::TensorInfo;

TensorImages::TensorImages(const std::vector<std::string>& files, const std::vector<TensorInfo>& tensors,
                           const io::StreamOptions& options)
    : files_(files), tensors_(tensors) {
  io::stream_files(files_, images_, options);
}

void TensorImages::move_to_huge_pages() const {
  const auto start = std::chrono::steady_clock::now();
  if (const uint64_t bytes = images_.collapse_to_huge_pages()) {
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    log::info("weights moved to huge pages: {:.1f} MB in {:.0f} ms (decoding reads them with fewer TLB misses)",
              double(bytes) / 1e6, took.count());
  }
}

const TensorInfo& TensorImages::tensor(const std::string& name) const {
  const TensorInfo* t = model::find_tensor(tensors_, name);
  if (t == nullptr) throw ModelError(fmt::format("{}: tensor {} is missing", files_.at(0), name));
  return *t;
}

std::byte* TensorImages::bytes_of(const TensorInfo& t) {
  const std::span<std::byte> image = images_.image(t.file);
  if (t.offset + t.bytes > image.size()) {
    throw ModelError(fmt::format("{}: tensor {} ends past the end of the file", files_.at(t.file), t.name));
  }
  return image.data() + t.offset;
}

kernels::Matrix TensorImages::matrix(const std::string& name) {
  const TensorInfo& t = tensor(name);
  if (t.shape.size() != 2) throw ModelError(fmt::format("{}: tensor {} is not a matrix", files_.at(t.file), name));
  const size_t rows = t.shape[1], cols = t.shape[0], row_bytes = size_t(t.bytes / rows);
  std::byte* data = bytes_of(t);
  if (t.rope_permute_heads != 0) {
    auto& copy = permuted_.emplace_back(std::make_unique<std::byte[]>(t.bytes));
    for (uint64_t row = 0; row < rows; ++row) {
      const uint64_t from = model::rope_permuted_source_row(row, rows, t.rope_permute_heads);
      std::memcpy(copy.get() + row * row_bytes, data + from * row_bytes, row_bytes);
    }
    data = copy.get();
  }
  return kernels::prepare_matrix(t.type, data, rows, cols, row_bytes);
}

std::vector<float> TensorImages::vector(const std::string& name, bool required) {
  const TensorInfo* t = model::find_tensor(tensors_, name);
  if (t == nullptr) {
    if (required) tensor(name);  // throws, naming it
    return {};
  }
  std::vector<float> values(t->elements());
  model::dequantize_row(t->type, bytes_of(*t), values.data(), values.size());
  if (t->rope_permute_heads != 0) {  // a bias: one value per row
    std::vector<float> permuted(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      permuted[i] = values[model::rope_permuted_source_row(i, values.size(), t->rope_permute_heads)];
    }
    values = std::move(permuted);
  }
  return values;
}

}  // namespace rs::cpu
