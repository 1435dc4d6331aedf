#pragma once
// Read-only hash tables for the tokenizers' inner loops, built once per
// vocabulary: open addressing in one flat array (a lookup touches one or two
// cache lines, where std::unordered_map chases a bucket, a node and the key's
// heap string) and a hash made for short keys.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace rs::tokenizer {

// The first 8 bytes of `text`, zero-padded; loads that stay within the text
// (no call to memcpy for a variable size).
inline uint64_t text_prefix(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const auto load32 = [](const unsigned char* at) {
    uint32_t word;
    std::memcpy(&word, at, 4);
    return uint64_t(word);
  };
  if (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    return word;
  }
  if (n >= 4) return load32(p) | load32(p + n - 4) << (8 * (n - 4));  // the two overlap: same bytes
  if (n == 0) return 0;
  return uint64_t(p[0]) | uint64_t(p[n / 2]) << (8 * (n / 2)) | uint64_t(p[n - 1]) << (8 * (n - 1));
}

// A 64-bit hash of `text` whose first 8 bytes are `prefix` (text_prefix).
inline uint64_t hash_text(std::string_view text, uint64_t prefix) {
  uint64_t h = (prefix ^ (text.size() * 0xFF51AFD7ED558CCDull)) * 0xBF58476D1CE4E5B9ull;
  if (text.size() > 8) {
    const char* p = text.data() + 8;
    size_t n = text.size() - 8;
    for (; n > 8; p += 8, n -= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      h = (h ^ (h >> 31) ^ word) * 0x94D049BB133111EBull;
    }
    uint64_t last;  // the last 8 bytes, overlapping what came before
    std::memcpy(&last, text.data() + text.size() - 8, 8);
    h = (h ^ (h >> 31) ^ last) * 0x94D049BB133111EBull;
  }
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

inline uint64_t hash_text(std::string_view text) { return hash_text(text, text_prefix(text)); }

// Text → Value; the keys are copied into one buffer. Insert keeps the first
// value given for a key, as std::unordered_map::emplace does. A slot holds a
// key's first 8 bytes, so looking up a key of up to 8 bytes (most words)
// reads one slot and nothing else.
template <typename Value>
class TextTable {
 public:
  TextTable() { resize(2); }  // lookups in an empty table find nothing

  // Prepares for `count` keys (so that inserting them does not rehash).
  void reserve(size_t count) {
    size_t capacity = 2;
    while (capacity < count * 2) capacity *= 2;
    if (capacity > slots_.size()) rehash(capacity);
  }

  // Adds `key` unless present; whether it did.
  bool insert(std::string_view key, const Value& value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    const size_t mask = slots_.size() - 1;
    const uint64_t prefix = text_prefix(key);
    for (size_t at = hash_text(key, prefix) & mask;; at = (at + 1) & mask) {
      Slot& slot = slots_[at];
      if (slot.size == kEmpty) {
        slot = {prefix, uint32_t(key.size()), value};
        offsets_[at] = uint32_t(keys_.size());
        keys_.append(key);
        ++size_;
        return true;
      }
      if (matches(at, prefix, key)) return false;
    }
  }

  // Where a lookup of a key starts. Probe, then find, for several keys in
  // turn: their slots load from memory at the same time.
  struct Probe {
    uint64_t prefix;
    size_t at;
  };
  Probe probe(std::string_view key) const {
    const uint64_t prefix = text_prefix(key);
    const size_t at = hash_text(key, prefix) & (slots_.size() - 1);
    __builtin_prefetch(&slots_[at]);
    return {prefix, at};
  }

  // The value of `key`, or nullptr.
  const Value* find(std::string_view key) const { return find(key, probe(key)); }
  const Value* find(std::string_view key, Probe probe) const {
    const size_t mask = slots_.size() - 1;
    for (size_t at = probe.at;; at = (at + 1) & mask) {
      const Slot& slot = slots_[at];
      if (slot.size == kEmpty) return nullptr;
      if (matches(at, probe.prefix, key)) return &slot.value;
    }
  }

  Value* find(std::string_view key) {
    return const_cast<Value*>(static_cast<const TextTable&>(*this).find(key));
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t prefix = 0;  // the key's first 8 bytes, zero-padded
    uint32_t size = kEmpty;
    Value value{};
  };

  bool matches(size_t at, uint64_t prefix, std::string_view key) const {
    const Slot& slot = slots_[at];
    if (slot.prefix != prefix || slot.size != key.size()) return false;
    return key.size() <= 8 || std::memcmp(keys_.data() + offsets_[at] + 8, key.data() + 8, key.size() - 8) == 0;
  }

  void resize(size_t capacity) {
    slots_.assign(capacity, Slot{});
    offsets_.assign(capacity, 0);
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old_slots = std::move(slots_);
    std::vector<uint32_t> old_offsets = std::move(offsets_);
    resize(capacity);
    for (size_t i = 0; i < old_slots.size(); ++i) {
      if (old_slots[i].size == kEmpty) continue;
      const std::string_view key(keys_.data() + old_offsets[i], old_slots[i].size);
      size_t at = hash_text(key) & (capacity - 1);
      while (slots_[at].size != kEmpty) at = (at + 1) & (capacity - 1);
      slots_[at] = old_slots[i];
      offsets_[at] = old_offsets[i];
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> offsets_;  // of each slot's key in keys_, read only for keys past 8 bytes
  std::string keys_;
  size_t size_ = 0;
};

}  // namespace rs::tokenizer
