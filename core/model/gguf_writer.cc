#include "core/model/gguf_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>
#include <unordered_set>
#include <utility>

namespace rs::model {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 31;  // general.alignment is a u32

using FillFunction = std::function<void(uint64_t, std::span<uint8_t>)>;

// Buffered little-endian writes to PATH.tmp.PID; commit() renames it to PATH, and a
// writer destroyed before commit() removes it. The PID: two processes writing the same
// file (tests running side by side) never write into each other's.
class TempFileWriter {
 public:
  explicit TempFileWriter(const std::string& path)
      : path_(path),
        temp_path_(path + ".tmp." + std::to_string(::getpid())),
        fd_(::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
    if (fd_ < 0) fail("cannot create");
    buffer_.reserve(kBufferBytes);
  }
  ~TempFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }
  TempFileWriter(const TempFileWriter&) = delete;
  TempFileWriter& operator=(const TempFileWriter&) = delete;

  uint64_t position() const { return flushed_ + buffer_.size(); }

  void put_bytes(std::string_view bytes) {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    flush_when_full();
  }
  // The low `bytes` bytes of `value`, least significant first.
  void put_le(uint64_t value, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; ++i) buffer_.push_back(static_cast<uint8_t>(value >> (8 * i)));
    flush_when_full();
  }
  void put_string(std::string_view text) {
    put_le(text.size(), 8);
    put_bytes(text);
  }
  // Zeros up to byte `offset`, a buffer at a time (an alignment may be 2 GiB).
  void pad_to(uint64_t offset) {
    while (position() < offset) {
      buffer_.resize(buffer_.size() + std::min(offset - position(), kBufferBytes - buffer_.size()), 0);
      flush_when_full();
    }
  }
  // `bytes` bytes from `fill`, a buffer at a time.
  void stream(uint64_t bytes, const FillFunction& fill) {
    flush();
    for (uint64_t done = 0; done < bytes; done += buffer_.size()) {
      buffer_.resize(std::min<uint64_t>(kBufferBytes, bytes - done));
      fill(done, buffer_);
      write_buffer();
    }
    buffer_.clear();
  }

  void commit() {
    flush();
    if (::fsync(fd_) != 0) fail("fsync failed");
    if (::close(std::exchange(fd_, -1)) != 0) fail("close failed");
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail(fmt::format("cannot rename to {}", path_));
    committed_ = true;
  }

 private:
  void flush_when_full() {
    if (buffer_.size() >= kBufferBytes) flush();
  }
  void flush() {
    write_buffer();
    buffer_.clear();
  }
  void write_buffer() {
    for (size_t done = 0; done < buffer_.size();) {
      const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write failed");
      done += static_cast<size_t>(n);
    }
    flushed_ += buffer_.size();
  }
  [[noreturn]] void fail(std::string_view what) const {
    throw ModelError(fmt::format("{}: {}: {}", temp_path_, what, std::generic_category().message(errno)));
  }

  std::string path_;
  std::string temp_path_;
  int fd_;
  bool committed_ = false;
  uint64_t flushed_ = 0;
  std::vector<uint8_t> buffer_;
};

bool known_type(MetaType type) { return static_cast<uint32_t>(type) <= static_cast<uint32_t>(MetaType::f64); }

// Encodes one metadata value; errors name the file and the key.
class ValueEncoder {
 public:
  ValueEncoder(TempFileWriter& out, std::string_view path, std::string_view key)
      : out_(out), path_(path), key_(key) {}

  void put(const MetaValue& value) {
    if (!known_type(value.type)) {
      fail(fmt::format("type {} is not a GGUF type", static_cast<uint32_t>(value.type)));
    }
    const uint64_t bytes = gguf_min_value_bytes(value.type);
    switch (value.type) {
      case MetaType::u8:
      case MetaType::u16:
      case MetaType::u32:
      case MetaType::u64: out_.put_le(unsigned_value(value, bytes), bytes); break;
      case MetaType::i8:
      case MetaType::i16:
      case MetaType::i32:
      case MetaType::i64: out_.put_le(static_cast<uint64_t>(signed_value(value, bytes)), bytes); break;
      case MetaType::f32: out_.put_le(std::bit_cast<uint32_t>(single(value)), 4); break;
      case MetaType::f64: out_.put_le(std::bit_cast<uint64_t>(number(value)), 8); break;
      case MetaType::boolean: out_.put_le(*must_hold(value.as_bool(), value) ? 1 : 0, 1); break;
      case MetaType::string: out_.put_string(*must_hold(value.as_string(), value)); break;
      case MetaType::array: put_array(value); break;
    }
  }

 private:
  void put_array(const MetaValue& array) {
    const MetaArray& elements = *must_hold(array.as_array(), array);
    if (!known_type(array.element_type)) {
      fail(
          fmt::format("array element type {} is not a GGUF type", static_cast<uint32_t>(array.element_type)));
    }
    out_.put_le(static_cast<uint32_t>(array.element_type), 4);
    out_.put_le(elements.size(), 8);
    for (size_t i = 0; i < elements.size(); ++i) {
      if (elements[i].type != array.element_type) {
        fail(fmt::format("array element {} is a {} in an array of {}", i, meta_type_name(elements[i].type),
                         meta_type_name(array.element_type)));
      }
      put(elements[i]);
    }
  }

  uint64_t unsigned_value(const MetaValue& value, uint64_t bytes) const {
    const uint64_t u = *must_hold(value.as_uint(), value);
    if (bytes < 8 && u >> (8 * bytes) != 0) out_of_range(value);
    return u;
  }
  int64_t signed_value(const MetaValue& value, uint64_t bytes) const {
    const int64_t i = *must_hold(value.as_int(), value);
    if (bytes < 8) {
      const int64_t limit = int64_t{1} << (8 * bytes - 1);
      if (i < -limit || i >= limit) out_of_range(value);
    }
    return i;
  }
  double number(const MetaValue& value) const { return *must_hold(value.as_float(), value); }
  float single(const MetaValue& value) const {
    const double d = number(value);
    if (std::isfinite(d) && std::abs(d) > std::numeric_limits<float>::max()) out_of_range(value);
    return static_cast<float>(d);
  }

  // `held` (an accessor's optional or pointer result), checked to hold something.
  template <typename Held>
  const Held& must_hold(const Held& held, const MetaValue& value) const {
    if (!held) fail(fmt::format("the value does not hold type {}", meta_type_name(value.type)));
    return held;
  }
  [[noreturn]] void out_of_range(const MetaValue& value) const {
    fail(fmt::format("the value does not fit type {}", meta_type_name(value.type)));
  }
  [[noreturn]] void fail(std::string_view detail) const {
    throw ModelError(fmt::format("{}: metadata key \"{}\": {}", path_, key_, detail));
  }

  TempFileWriter& out_;
  std::string_view path_;
  std::string_view key_;
};

// Where each tensor's data goes, relative to the data section, after checking
// that the tensor can be read back.
struct TensorPlacement {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

std::vector<TensorPlacement> place_tensors(const std::string& path, const std::vector<GgufTensorOut>& tensors,
                                           uint64_t alignment) {
  const auto fail = [&](const GgufTensorOut& t, std::string_view detail) {
    throw ModelError(fmt::format("{}: tensor \"{}\": {}", path, t.name, detail));
  };
  std::unordered_set<std::string_view> names;
  std::vector<TensorPlacement> placements;
  uint64_t next = 0;
  for (const GgufTensorOut& t : tensors) {
    if (!names.insert(t.name).second) fail(t, "the name appears twice");
    if (t.shape.empty() || t.shape.size() > 4) fail(t, fmt::format("{} dims, not 1..4", t.shape.size()));
    uint64_t elements = 1;
    for (const uint64_t dim : t.shape) {
      if (dim == 0 || __builtin_mul_overflow(elements, dim, &elements)) fail(t, "a dim is 0 or too large");
    }
    const std::optional<uint64_t> bytes = tensor_bytes(t.type, elements);
    if (!bytes) {
      fail(t, fmt::format("{} elements are not a whole number of {} blocks", elements, info(t.type).name));
    }
    if (!t.fill) fail(t, "no fill function");
    placements.push_back({next, *bytes});
    next = gguf_align(next + *bytes, alignment);
  }
  return placements;
}

void put_metadata(TempFileWriter& out, const std::string& path, const Metadata& metadata,
                  uint64_t alignment) {
  const bool alignment_given = find(metadata, kGgufAlignmentKey) != nullptr;
  const bool alignment_added = !alignment_given && alignment != kGgufDefaultAlignment;
  out.put_le(metadata.size() + (alignment_added ? 1 : 0), 8);
  const MetaValue alignment_value{.type = MetaType::u32, .value = alignment};
  std::unordered_set<std::string_view> keys;
  for (const auto& [key, value] : metadata) {
    if (!keys.insert(key).second)
      throw ModelError(fmt::format("{}: metadata key \"{}\" appears twice", path, key));
    out.put_string(key);
    const MetaValue& written = key == kGgufAlignmentKey ? alignment_value : value;
    out.put_le(static_cast<uint32_t>(written.type), 4);
    ValueEncoder(out, path, key).put(written);
  }
  if (alignment_added) {
    out.put_string(kGgufAlignmentKey);
    out.put_le(static_cast<uint32_t>(MetaType::u32), 4);
    out.put_le(alignment, 4);
  }
}

void put_tensor_infos(TempFileWriter& out, const std::vector<GgufTensorOut>& tensors,
                      const std::vector<TensorPlacement>& placements) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    out.put_string(tensors[i].name);
    out.put_le(tensors[i].shape.size(), 4);
    for (const uint64_t dim : tensors[i].shape) out.put_le(dim, 8);
    out.put_le(static_cast<uint32_t>(tensors[i].type), 4);
    out.put_le(placements[i].offset, 8);
  }
}

}  // namespace

void write_gguf(const std::string& path, const Metadata& metadata, const std::vector<GgufTensorOut>& tensors,
                uint64_t alignment) {
  if (!std::has_single_bit(alignment) || alignment > kMaxAlignment) {
    throw ModelError(fmt::format("{}: alignment {} is not a power of two up to 2^31", path, alignment));
  }
  const std::vector<TensorPlacement> placements = place_tensors(path, tensors, alignment);
  TempFileWriter out(path);
  out.put_bytes(kGgufMagic);
  out.put_le(kGgufVersion, 4);
  out.put_le(tensors.size(), 8);
  put_metadata(out, path, metadata, alignment);
  put_tensor_infos(out, tensors, placements);
  const uint64_t data_offset = gguf_align(out.position(), alignment);
  for (size_t i = 0; i < tensors.size(); ++i) {
    out.pad_to(data_offset + placements[i].offset);
    out.stream(placements[i].bytes, tensors[i].fill);
  }
  // Like llama.cpp's writer: the file ends on a boundary, so aligned reads of the last tensor stay in it.
  out.pad_to(gguf_align(out.position(), alignment));
  out.commit();
}

}  // namespace rs::model
