#include "core/model/model_identity.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/model/model_error.h"

namespace rs::model {
namespace {

constexpr uint64_t kSampleBytes = 4096;  // of each tensor: enough to tell fine-tunes and quantizations apart

struct StateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

void add(XXH3_state_t* state, const void* data, size_t bytes) { XXH3_64bits_update(state, data, bytes); }
template <typename T>
void add(XXH3_state_t* state, const T& value) {
  add(state, &value, sizeof value);
}
void add(XXH3_state_t* state, const std::string& text) {
  add(state, text.size());
  add(state, text.data(), text.size());
}

void add_parameters(XXH3_state_t* state, const ModelDesc& d) {
  add(state, d.architecture);
  for (const uint32_t v : {d.vocab_size, d.embedding_dim, d.n_layers, d.n_heads, d.n_kv_heads, d.head_dim, d.ffn_dim,
                           d.rope_original_context}) {
    add(state, v);
  }
  for (const float v : {d.rope_freq_base, d.rope_scale_factor, d.rope_low_freq_factor, d.rope_high_freq_factor,
                        d.norm_eps}) {
    add(state, v);
  }
  add(state, uint32_t(d.rope_layout));
  add(state, uint32_t(d.rope_scaling));
  add(state, uint8_t(d.tied_embeddings));
  add(state, uint8_t(d.qkv_bias));
}

void add_parameters(XXH3_state_t* state, const EncoderDesc& d) {
  add(state, d.architecture);
  for (const uint32_t v : {d.vocab_size, d.embedding_dim, d.n_layers, d.n_heads, d.head_dim, d.ffn_dim,
                           d.context_length, d.token_types}) {
    add(state, v);
  }
  add(state, d.norm_eps);
  add(state, uint8_t(d.pooling));
}

class FileSampler {
 public:
  explicit FileSampler(const std::vector<std::string>& files) : files_(files), fds_(files.size(), -1) {}
  ~FileSampler() {
    for (const int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  // Up to kSampleBytes of the tensor's data.
  std::vector<char> sample(const TensorInfo& t) {
    int& fd = fds_.at(t.file);
    const std::string& path = files_[t.file];
    if (fd < 0) fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ModelError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::vector<char> bytes(std::min(t.bytes, kSampleBytes));
    const ssize_t got = pread(fd, bytes.data(), bytes.size(), off_t(t.offset));
    if (got != ssize_t(bytes.size())) {
      throw ModelError(fmt::format("{}: cannot read tensor {} at offset {}", path, t.name, t.offset));
    }
    return bytes;
  }

 private:
  const std::vector<std::string>& files_;
  std::vector<int> fds_;
};

// XXH3 of the description's parameters, then its tensor table and each tensor's first bytes.
template <typename Desc>
uint64_t identity_of(const Desc& desc) {
  const std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
  XXH3_64bits_reset(state.get());
  add_parameters(state.get(), desc);
  FileSampler files(desc.files);
  for (const TensorInfo& t : desc.tensors) {
    add(state.get(), t.name);
    add(state.get(), uint32_t(t.type));
    for (const uint64_t dim : t.shape) add(state.get(), dim);
    add(state.get(), t.bytes);
    add(state.get(), t.rope_permute_heads);
    const std::vector<char> bytes = files.sample(t);
    add(state.get(), bytes.data(), bytes.size());
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace

uint64_t model_identity(const ModelDesc& desc) { return identity_of(desc); }

uint64_t encoder_identity(const EncoderDesc& desc) { return identity_of(desc); }

}  // namespace rs::model
