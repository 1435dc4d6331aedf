#include "core/app/kv_block_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace rs {

KvStaging::KvStaging(const io::StreamOptions& options)
    : slot_bytes_(options.chunk_bytes),
      slots_(options.depth),
      memory_(static_cast<std::byte*>(std::aligned_alloc(io::kDirectAlignment, slot_bytes_ * slots_))) {
  if (!memory_) throw std::bad_alloc();
}

void KvStaging::fault_in() {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  for (size_t at = 0; at < slot_bytes_ * slots_; at += page) memory_.get()[at] = std::byte{0};
}

KvBlockSink::KvBlockSink(const cache::KvSnapshotHeader& header, KvStaging& staging, BlockHandler on_block)
    : header_(header), staging_(staging), on_block_(std::move(on_block)), busy_(staging.slots(), false) {
  split_.reserve(header_.block_bytes);
}

std::span<std::byte> KvBlockSink::destination(const io::FileRange&) {
  const auto free = std::find(busy_.begin(), busy_.end(), false);
  if (free == busy_.end()) return {};
  *free = true;
  return staging_.slot(unsigned(free - busy_.begin()));
}

void KvBlockSink::landed(const io::FileRange& range, std::span<const std::byte> bytes) {
  // Handled before the next read is asked for.
  busy_[size_t(bytes.data() - staging_.slot(0).data()) / staging_.slot_bytes()] = false;
  const uint64_t end = range.offset + range.bytes;
  if (end <= header_.kv_offset) return;
  take(bytes.subspan(range.offset < header_.kv_offset ? header_.kv_offset - range.offset : 0));
}

void KvBlockSink::take(std::span<const std::byte> kv) {
  const size_t block_bytes = header_.block_bytes;
  while (!kv.empty() && next_block_ < header_.blocks) {
    if (split_.empty() && kv.size() >= block_bytes) {  // whole in this slot: no copy
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
