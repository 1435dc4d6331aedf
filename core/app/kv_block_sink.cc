#include "core/app/kv_block_sink.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace rs {

KvBlockSink::KvBlockSink(const cache::KvSnapshotHeader& header, const io::StreamOptions& options,
                         BlockHandler on_block)
    : header_(header),
      on_block_(std::move(on_block)),
      slot_bytes_(options.chunk_bytes),
      slots_(static_cast<std::byte*>(std::aligned_alloc(io::kDirectAlignment, slot_bytes_ * options.depth))),
      busy_(options.depth, false) {
  if (!slots_) throw std::bad_alloc();
  split_.reserve(header_.block_bytes);
}

std::span<std::byte> KvBlockSink::destination(const io::FileRange&) {
  const auto free = std::find(busy_.begin(), busy_.end(), false);
  if (free == busy_.end()) return {};
  *free = true;
  return {slots_.get() + size_t(free - busy_.begin()) * slot_bytes_, slot_bytes_};
}

void KvBlockSink::landed(const io::FileRange& range, std::span<const std::byte> bytes) {
  busy_[size_t(bytes.data() - slots_.get()) / slot_bytes_] = false;  // handled before the next read is asked for
  const uint64_t end = range.offset + range.bytes;
  if (end <= header_.kv_offset) return;
  take(bytes.subspan(range.offset < header_.kv_offset ? header_.kv_offset - range.offset : 0));
}

void KvBlockSink::take(std::span<const std::byte> kv) {
  const size_t block_bytes = header_.block_bytes;
  while (!kv.empty() && next_block_ < header_.blocks) {
    if (split_.empty() && kv.size() >= block_bytes) {  // whole in this chunk: no copy
      on_block_(next_block_++, kv.first(block_bytes));
      kv = kv.subspan(block_bytes);
      continue;
    }
    const size_t part = std::min(block_bytes - split_.size(), kv.size());
    split_.insert(split_.end(), kv.begin(), kv.begin() + ptrdiff_t(part));
    kv = kv.subspan(part);
    if (split_.size() == block_bytes) {
      on_block_(next_block_++, split_);
      split_.clear();
    }
  }
}

}  // namespace rs
