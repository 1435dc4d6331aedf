#include "core/model/pack.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/base/log.h"
#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/gguf_writer.h"
#include "core/model/model_desc.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"
#include "core/model/safetensors_reader.h"

namespace rs::model {
namespace {

constexpr uint64_t kPackAlignment = 4096;

// The model's files, open for reading rows at random.
class SourceFiles {
 public:
  explicit SourceFiles(const std::vector<std::string>& paths) : paths_(paths) {
    for (const std::string& path : paths) {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw ModelError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
      fds_.push_back(fd);
    }
  }
  ~SourceFiles() {
    for (const int fd : fds_) close(fd);
  }
  SourceFiles(const SourceFiles&) = delete;
  SourceFiles& operator=(const SourceFiles&) = delete;

  void read(uint32_t file, uint64_t offset, std::span<uint8_t> out) const {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = pread(fds_[file], out.data() + done, out.size() - done, off_t(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        throw ModelError(fmt::format("{}: read at byte {} failed: {}", paths_[file], offset + done,
                                     n == 0 ? "unexpected end of file" : std::strerror(errno)));
      }
      done += size_t(n);
    }
  }

 private:
  std::vector<std::string> paths_;
  std::vector<int> fds_;
};

ModelDesc read_model(const std::string& path, std::optional<GgufFile>& gguf) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path) || path.ends_with(".safetensors")) return read_safetensors_model(path);
  gguf = read_gguf(path);
  return describe_gguf(*gguf, path);
}

bool convertible(TensorType type) {
  return type == TensorType::f32 || type == TensorType::f16 || type == TensorType::bf16;
}

// The type a tensor is written in.
TensorType packed_type(const TensorInfo& t, const std::optional<TensorType>& wanted) {
  if (!convertible(t.type)) return t.type;      // k-quants and friends: copied as they are
  if (t.shape.size() == 1) return TensorType::f32;  // norms and biases: llama.cpp wants f32
  if (!wanted) return t.type;
  if (t.shape[0] % info(*wanted).block_elements != 0) {
    log::warn("{}: rows of {} values are not whole {} blocks; writing f16", t.name, t.shape[0],
              info(*wanted).name);
    return TensorType::f16;
  }
  return *wanted;
}

uint64_t row_bytes(TensorType type, uint64_t row_elements) { return *tensor_bytes(type, row_elements); }

// Produces byte range [offset, offset + chunk.size()) of `out_type` rows from
// the source tensor: rows reordered for RoPE where asked, values converted.
void fill_rows(const SourceFiles& files, const TensorInfo& t, TensorType out_type, uint64_t offset,
               std::span<uint8_t> chunk) {
  // A permuted 1-D tensor (a q/k bias) reorders its elements: rows of one value.
  const bool per_element = t.shape.size() == 1;
  const uint64_t row_len = per_element ? 1 : t.shape[0];
  const uint64_t rows = per_element ? t.shape[0] : t.rows();
  const uint64_t in_row = row_bytes(t.type, row_len);
  const uint64_t out_row = row_bytes(out_type, row_len);
  if (t.type == out_type && t.rope_permute_heads == 0) {  // a straight copy
    files.read(t.file, t.offset + offset, chunk);
    return;
  }
  std::vector<uint8_t> source(in_row);
  std::vector<float> values(row_len);
  std::vector<uint8_t> encoded(out_row);
  for (uint64_t row = offset / out_row; row * out_row < offset + chunk.size(); ++row) {
    const uint64_t from = t.rope_permute_heads ? rope_permuted_source_row(row, rows, t.rope_permute_heads) : row;
    files.read(t.file, t.offset + from * in_row, source);
    dequantize_row(t.type, source.data(), values.data(), row_len);
    quantize_row(out_type, values.data(), encoded.data(), row_len);
    const uint64_t row_start = row * out_row;
    const uint64_t begin = std::max(offset, row_start);
    const uint64_t end = std::min(offset + chunk.size(), row_start + out_row);
    std::memcpy(chunk.data() + (begin - offset), encoded.data() + (begin - row_start), end - begin);
  }
}

using meta::f32;
using meta::text;
using meta::u32;

// GGUF keys for a model described by config.json (llama.cpp names mistral "llama").
Metadata architecture_metadata(const ModelDesc& d) {
  const std::string arch = d.architecture == "qwen2" ? "qwen2" : "llama";
  Metadata m{
      {"general.architecture", text(arch)},
      {"general.name", text(d.name)},
      {arch + ".vocab_size", u32(d.vocab_size)},
      {arch + ".context_length", u32(d.context_length)},
      {arch + ".embedding_length", u32(d.embedding_dim)},
      {arch + ".block_count", u32(d.n_layers)},
      {arch + ".feed_forward_length", u32(d.ffn_dim)},
      {arch + ".rope.dimension_count", u32(d.head_dim)},
      {arch + ".attention.head_count", u32(d.n_heads)},
      {arch + ".attention.head_count_kv", u32(d.n_kv_heads)},
      {arch + ".attention.layer_norm_rms_epsilon", f32(d.norm_eps)},
      {arch + ".rope.freq_base", f32(d.rope_freq_base)},
  };
  if (d.rope_scaling != RopeScaling::none) {
    m.push_back({arch + ".rope.scaling.type", text(d.rope_scaling == RopeScaling::linear ? "linear" : "llama3")});
    m.push_back({arch + ".rope.scaling.factor", f32(d.rope_scale_factor)});
  }
  for (const auto& [key, value] : d.metadata) {
    if (!find(m, key)) m.emplace_back(key, value);  // tokenizer.* and the like, when present
  }
  return m;
}

// general.file_type as llama.cpp numbers it (llama_ftype), for the converted matrices.
void set_file_type(Metadata& metadata, TensorType type) {
  uint32_t ftype = 0;
  switch (type) {
    case TensorType::f16: ftype = 1; break;
    case TensorType::q4_0: ftype = 2; break;
    case TensorType::q8_0: ftype = 7; break;
    case TensorType::bf16: ftype = 32; break;
    default: break;
  }
  for (auto& [key, value] : metadata) {
    if (key == "general.file_type") {
      value = u32(ftype);
      return;
    }
  }
  metadata.emplace_back("general.file_type", u32(ftype));
}

}  // namespace

void pack_model(const PackOptions& options) {
  std::optional<GgufFile> gguf;
  const ModelDesc desc = read_model(options.input, gguf);
  if (!gguf && !find(desc.metadata, "tokenizer.ggml.tokens")) {
    log::warn("{}: no tokenizer.json or tokenizer.model beside the weights: the packed model has no "
              "tokenizer, so it cannot serve text until one is added", options.input);
  }
  Metadata metadata = gguf ? gguf->metadata : architecture_metadata(desc);
  if (options.type) set_file_type(metadata, *options.type);
  const SourceFiles files(desc.files);
  std::vector<GgufTensorOut> tensors;
  for (const TensorInfo& t : desc.tensors) {
    const TensorType type = packed_type(t, options.type);
    tensors.push_back({t.name, type, t.shape, [&files, &t, type](uint64_t offset, std::span<uint8_t> chunk) {
                         fill_rows(files, t, type, offset, chunk);
                       }});
  }
  write_gguf(options.output, metadata, tensors, kPackAlignment);
}

}  // namespace rs::model
