#include "core/model/gguf_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <system_error>
#include <unordered_set>
#include <utility>

#include "core/base/log.h"

namespace rs::model {
namespace {

constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
constexpr int kMaxArrayDepth = 8;
// Each array element becomes a MetaValue of ~56 bytes, so tiny elements could ask
// for 50x the file size; real tokenizers hold about a million in all.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 23;
// Real models have tens of keys and a few thousand tensors; far more is a bad file.
constexpr uint64_t kMaxKeys = uint64_t{1} << 16;
constexpr uint64_t kMaxTensors = uint64_t{1} << 20;
constexpr uint32_t kMaxDims = 4;
// Smallest encodings: key length + value type + a u8; name length + n_dims + one
// dim + type + offset.
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr size_t kWindowBytes = size_t{1} << 20;

// Keys and names come from the file: escaped and cut short, so that an error stays one short line.
std::string escaped(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  const std::string quoted = fmt::format("{:?}", text.substr(0, kMaxShown));  // fmt's C-style escapes
  return quoted.substr(1, quoted.size() - 2) + (text.size() > kMaxShown ? "..." : "");
}

std::string in_quotes(std::string_view text) { return fmt::format("\"{}\"", escaped(text)); }

std::string tensor_section(uint64_t index, std::string_view name) {
  return fmt::format("tensor {} ({})", index, in_quotes(name));
}

int64_t sign_extend(uint64_t raw, uint64_t bytes) {
  const auto unused_bits = static_cast<int>(64 - 8 * bytes);
  return static_cast<int64_t>(raw << unused_bits) >> unused_bits;
}

// Random access to the bytes of a GGUF, in a file or in memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` from `offset` on; callers keep the range within size().
  virtual void read(uint64_t offset, std::span<uint8_t> out) const = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, std::span<uint8_t> out) const override {
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
  }

 private:
  std::span<const uint8_t> bytes_;
};

std::string errno_text() { return std::generic_category().message(errno); }

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path)
      : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw ModelError(fmt::format("{}: cannot open: {}", path_, errno_text()));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw ModelError(fmt::format("{}: not a regular file", path_));
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw ModelError(fmt::format("{}: read failed at byte {}: {}", path_, offset + done, errno_text()));
      }
      if (n == 0) {
        throw ModelError(
            fmt::format("{}: the file shrank to {} bytes while being read", path_, offset + done));
      }
      done += static_cast<size_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
};

// Bounds-checked little-endian reads through a window of the source. Errors name
// the file and the section being read, e.g. `metadata key 3 ("general.name")`.
class Cursor {
 public:
  Cursor(const ByteSource& source, std::string_view file) : source_(source), file_(file) {}

  uint64_t position() const { return position_; }
  uint64_t size() const { return source_.size(); }
  uint64_t remaining() const { return source_.size() - position_; }
  void enter(std::string section) { section_ = std::move(section); }

  [[noreturn]] void fail(std::string_view detail) const {
    throw ModelError(fmt::format("{}: {}: {}", file_, section_, detail));
  }
  [[noreturn]] void fail_file(std::string_view detail) const {
    throw ModelError(fmt::format("{}: {}", file_, detail));
  }

  std::span<const uint8_t> read_bytes(uint64_t count) {
    if (count > remaining()) {
      fail_file(fmt::format("truncated in {}: {} bytes needed at byte {}, {} left", section_, count,
                            position_, remaining()));
    }
    if (position_ < window_start_ || position_ + count > window_start_ + window_.size()) refill(count);
    const auto bytes = std::span<const uint8_t>(window_).subspan(position_ - window_start_, count);
    position_ += count;
    return bytes;
  }

  // An unsigned little-endian integer of `bytes` (1 to 8) bytes.
  uint64_t read_le(uint64_t bytes) {
    uint64_t value = 0;
    const std::span<const uint8_t> raw = read_bytes(bytes);
    for (size_t i = 0; i < raw.size(); ++i) value |= uint64_t{raw[i]} << (8 * i);
    return value;
  }
  uint32_t read_u32() { return static_cast<uint32_t>(read_le(4)); }
  uint64_t read_u64() { return read_le(8); }

  // A u64 length, then that many bytes; `length_field` names the length in errors.
  std::string read_string(std::string_view length_field) {
    const uint64_t length = read_u64();
    if (length > remaining()) {
      fail(fmt::format("{} {} exceeds the {} bytes left in the file", length_field, length, remaining()));
    }
    if (length > kMaxStringBytes) {
      fail(fmt::format("{} {} is over the limit of {}", length_field, length, kMaxStringBytes));
    }
    const std::span<const uint8_t> bytes = read_bytes(length);
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

 private:
  void refill(uint64_t count) {
    window_.resize(std::min(std::max<uint64_t>(count, kWindowBytes), remaining()));
    source_.read(position_, window_);
    window_start_ = position_;
  }

  const ByteSource& source_;
  std::string_view file_;
  std::string section_ = "the file header";
  uint64_t position_ = 0;
  std::vector<uint8_t> window_;  // bytes [window_start_, window_start_ + size)
  uint64_t window_start_ = 0;
};

class GgufParser {
 public:
  GgufParser(const ByteSource& source, std::string_view file) : cursor_(source, file) {}

  GgufFile parse() {
    GgufFile gguf;
    gguf.file_size = cursor_.size();
    read_magic();
    gguf.version = read_version();
    const uint64_t tensor_count = read_count("tensor count", kMinTensorInfoBytes, kMaxTensors);
    const uint64_t key_count = read_count("metadata key count", kMinKeyValueBytes, kMaxKeys);
    read_metadata(key_count, gguf);
    read_tensor_infos(tensor_count, gguf);
    gguf.data_offset = gguf_align(cursor_.position(), gguf.alignment);
    locate_tensor_data(gguf);
    check_no_overlap(gguf.tensors);
    return gguf;
  }

 private:
  void read_magic() {
    const std::span<const uint8_t> magic = cursor_.read_bytes(kGgufMagic.size());
    const std::string_view text(reinterpret_cast<const char*>(magic.data()), magic.size());
    if (text != kGgufMagic) cursor_.fail_file(fmt::format("not a GGUF file (magic is {})", in_quotes(text)));
  }

  uint32_t read_version() {
    const uint32_t version = cursor_.read_u32();
    if (version != 2 && version != 3) {
      cursor_.fail_file(fmt::format("GGUF version {} is not supported (only versions 2 and 3)", version));
    }
    return version;
  }

  // A count whose items take at least `min_item_bytes` each, so that a huge count
  // fails here instead of looping or allocating.
  uint64_t read_count(std::string_view field, uint64_t min_item_bytes, uint64_t max_items) {
    const uint64_t count = cursor_.read_u64();
    if (count > cursor_.remaining() / min_item_bytes) {
      cursor_.fail_file(fmt::format("{} {} exceeds what the {} bytes left in the file can hold", field, count,
                                    cursor_.remaining()));
    }
    if (count > max_items) {
      cursor_.fail_file(fmt::format("{} {} is over the limit of {}", field, count, max_items));
    }
    return count;
  }

  void read_metadata(uint64_t count, GgufFile& gguf) {
    std::unordered_set<std::string> keys;
    for (uint64_t i = 0; i < count; ++i) {
      cursor_.enter(fmt::format("metadata key {}", i));
      std::string key = cursor_.read_string("key length");
      cursor_.enter(fmt::format("metadata key {} ({})", i, in_quotes(key)));
      if (!keys.insert(key).second) cursor_.fail("the key appears twice");
      MetaValue value = read_value(read_type("value type"), 0);
      if (key == kGgufAlignmentKey) gguf.alignment = alignment_of(value);
      gguf.metadata.emplace_back(std::move(key), std::move(value));
    }
  }

  MetaType read_type(std::string_view field) {
    const uint32_t id = cursor_.read_u32();
    if (id > static_cast<uint32_t>(MetaType::f64)) {
      cursor_.fail(fmt::format("{} {} is not a GGUF type", field, id));
    }
    return static_cast<MetaType>(id);
  }

  MetaValue read_value(MetaType type, int depth) {
    MetaValue value;
    value.type = type;
    const uint64_t bytes = gguf_min_value_bytes(type);
    switch (type) {
      case MetaType::u8:
      case MetaType::u16:
      case MetaType::u32:
      case MetaType::u64: value.value = cursor_.read_le(bytes); break;
      case MetaType::i8:
      case MetaType::i16:
      case MetaType::i32:
      case MetaType::i64: value.value = sign_extend(cursor_.read_le(bytes), bytes); break;
      case MetaType::f32: value.value = double{std::bit_cast<float>(cursor_.read_u32())}; break;
      case MetaType::f64: value.value = std::bit_cast<double>(cursor_.read_u64()); break;
      case MetaType::boolean: value.value = read_bool(); break;
      case MetaType::string: value.value = cursor_.read_string("string length"); break;
      case MetaType::array: read_array(value, depth); break;
    }
    return value;
  }

  bool read_bool() {
    const uint64_t byte = cursor_.read_le(1);
    if (byte > 1) cursor_.fail(fmt::format("bool value {} is neither 0 nor 1", byte));
    return byte == 1;
  }

  void read_array(MetaValue& array, int depth) {
    if (depth == kMaxArrayDepth) cursor_.fail(fmt::format("arrays nested deeper than {}", kMaxArrayDepth));
    array.element_type = read_type("array element type");
    const uint64_t length = cursor_.read_u64();
    if (length > cursor_.remaining() / gguf_min_value_bytes(array.element_type)) {
      cursor_.fail(fmt::format("array length {} of {} exceeds the {} bytes left in the file", length,
                               meta_type_name(array.element_type), cursor_.remaining()));
    }
    array_elements_ += length;
    if (array_elements_ > kMaxArrayElements) {
      cursor_.fail(fmt::format("array length {} takes the metadata over {} array elements", length,
                               kMaxArrayElements));
    }
    MetaArray elements;
    elements.reserve(length);
    for (uint64_t i = 0; i < length; ++i) elements.push_back(read_value(array.element_type, depth + 1));
    array.value = std::move(elements);
  }

  uint64_t alignment_of(const MetaValue& value) const {
    if (value.type != MetaType::u32) {
      cursor_.fail(fmt::format("alignment must be a u32, not {}", meta_type_name(value.type)));
    }
    const uint64_t alignment = std::get<uint64_t>(value.value);
    if (!std::has_single_bit(alignment)) {
      cursor_.fail(fmt::format("alignment {} is not a power of two", alignment));
    }
    return alignment;
  }

  void read_tensor_infos(uint64_t count, GgufFile& gguf) {
    std::unordered_set<std::string> names;
    for (uint64_t i = 0; i < count; ++i) {
      cursor_.enter(fmt::format("tensor {}", i));
      TensorInfo tensor;
      tensor.name = cursor_.read_string("name length");
      cursor_.enter(tensor_section(i, tensor.name));
      if (!names.insert(tensor.name).second) cursor_.fail("the name appears twice");
      tensor.shape = read_shape();
      tensor.type = read_tensor_type(tensor.name);
      tensor.bytes = data_bytes(tensor);
      tensor.offset = cursor_.read_u64();  // relative to the data section until locate_tensor_data
      gguf.tensors.push_back(std::move(tensor));
    }
  }

  std::vector<uint64_t> read_shape() {
    const uint32_t n_dims = cursor_.read_u32();
    if (n_dims < 1 || n_dims > kMaxDims) {
      cursor_.fail(fmt::format("n_dims {} is not in 1..{}", n_dims, kMaxDims));
    }
    std::vector<uint64_t> shape(n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      shape[d] = cursor_.read_u64();
      if (shape[d] == 0) cursor_.fail(fmt::format("dim {} is 0", d));
      if (__builtin_mul_overflow(elements, shape[d], &elements)) {
        cursor_.fail(fmt::format("dim {} ({}) makes the element count overflow 64 bits", d, shape[d]));
      }
    }
    return shape;
  }

  TensorType read_tensor_type(std::string_view name) {
    const uint32_t id = cursor_.read_u32();
    const std::optional<TensorTypeInfo> type = tensor_type_info(id);
    if (!type) {
      const std::string_view type_name = ggml_type_name(id);
      cursor_.fail_file(fmt::format("unsupported tensor type {} in tensor {}",
                                    type_name == "unknown" ? fmt::format("{}", id) : std::string(type_name),
                                    escaped(name)));
    }
    return type->type;
  }

  // Checked before multiplying, so that a shape too large for the file cannot overflow.
  uint64_t data_bytes(const TensorInfo& tensor) const {
    const TensorTypeInfo& type = info(tensor.type);
    const uint64_t elements = tensor.elements();
    if (elements % type.block_elements != 0) {
      cursor_.fail(fmt::format("{} elements are not a whole number of {} blocks of {}", elements, type.name,
                               type.block_elements));
    }
    if (elements / type.block_elements > cursor_.size() / type.block_bytes) {
      cursor_.fail(fmt::format("{} elements of {} need more than the file's {} bytes", elements, type.name,
                               cursor_.size()));
    }
    return *tensor_bytes(tensor.type, elements);
  }

  void locate_tensor_data(GgufFile& gguf) {
    const uint64_t section_bytes = gguf.file_size - std::min(gguf.data_offset, gguf.file_size);
    for (uint64_t i = 0; i < gguf.tensors.size(); ++i) {
      TensorInfo& tensor = gguf.tensors[i];
      cursor_.enter(tensor_section(i, tensor.name));
      if (tensor.offset % gguf.alignment != 0) {
        cursor_.fail(
            fmt::format("offset {} is not a multiple of the alignment {}", tensor.offset, gguf.alignment));
      }
      if (tensor.offset > section_bytes) {
        cursor_.fail(fmt::format("offset {} is past the end of the data section ({} bytes from byte {})",
                                 tensor.offset, section_bytes, gguf.data_offset));
      }
      tensor.offset += gguf.data_offset;
      const uint64_t end = tensor.offset + tensor.bytes;  // both at most the file size: no overflow
      if (end > gguf.file_size) {
        cursor_.fail(fmt::format("data ends at byte {} but the file has {} bytes", end, gguf.file_size));
      }
    }
  }

  void check_no_overlap(const std::vector<TensorInfo>& tensors) const {
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& before = tensors[order[k - 1]];
      const TensorInfo& after = tensors[order[k]];
      if (before.offset + before.bytes > after.offset) {
        cursor_.fail_file(fmt::format("{}: data overlaps that of {}", tensor_section(order[k], after.name),
                                      tensor_section(order[k - 1], before.name)));
      }
    }
  }

  Cursor cursor_;
  uint64_t array_elements_ = 0;  // over all arrays read so far
};

}  // namespace

uint64_t gguf_min_value_bytes(MetaType type) {
  switch (type) {
    case MetaType::u8:
    case MetaType::i8:
    case MetaType::boolean: return 1;
    case MetaType::u16:
    case MetaType::i16: return 2;
    case MetaType::u32:
    case MetaType::i32:
    case MetaType::f32: return 4;
    case MetaType::u64:
    case MetaType::i64:
    case MetaType::f64: return 8;
    case MetaType::string: return 8;     // the length
    case MetaType::array: return 4 + 8;  // element type and length
  }
  return 1;  // unreachable: callers pass only known types
}

GgufFile read_gguf(const std::string& path) {
  const FileSource source(path);
  GgufFile gguf = GgufParser(source, path).parse();
  log::debug("{}: GGUF v{}, {} metadata keys, {} tensors, data at byte {}", path, gguf.version,
             gguf.metadata.size(), gguf.tensors.size(), gguf.data_offset);
  return gguf;
}

GgufFile parse_gguf(std::span<const uint8_t> bytes, std::string_view name) {
  const MemorySource source(bytes);
  return GgufParser(source, name).parse();
}

}  // namespace rs::model
