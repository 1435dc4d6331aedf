#pragma once
// What the caches' snapshot files (kv_snapshot, semantic_snapshot) share: fixed-width little-endian fields
// appended and read in order, a read-only file read at offsets the caller has checked, a write through a
// temporary file renamed into place, and the one-line error naming the file.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs::cache {

// Throws std::runtime_error "NAME: REASON".
[[noreturn]] void refuse_file(std::string_view name, std::string_view reason);

// Fixed-width little-endian fields, appended in order.
class FieldWriter {
 public:
  template <typename T>
  void put(T value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void put_bytes(std::string_view bytes) { bytes_.append(bytes); }
  void pad_to(uint64_t size) { bytes_.resize(size, '\0'); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Fixed-width fields read in order from bytes the caller has checked are long enough.
class FieldReader {
 public:
  explicit FieldReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  std::string_view get_bytes(size_t n) {
    const std::string_view view(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return view;
  }
  size_t offset() const { return at_; }
  size_t remaining() const { return bytes_.size() - at_; }

 private:
  std::span<const std::byte> bytes_;
  size_t at_ = 0;
};

// An open regular file, read at offsets; closed on scope exit. Errors name the file.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  uint64_t size() const;  // refuses what is not a regular file
  // `bytes` bytes from `offset`, which the caller has checked are in the file.
  std::vector<std::byte> read(uint64_t offset, uint64_t bytes) const;

 private:
  std::string path_;
  int fd_;
};

// Writes `parts`, one after another, to `path` through `path`.tmp renamed into place, so that a reader never
// sees half a file. Throws std::runtime_error naming the file when it cannot.
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts);

}  // namespace rs::cache
