#pragma once
// Where a KV snapshot's bytes stream to (io::stream_files, O_DIRECT): a few aligned staging slots, from which
// each block of the KV section is handed on whole, in file order; a block split between two slots is put
// together first. The header and records the stream also reads are passed over.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "cache/kv_snapshot.h"
#include "io/file_stream.h"

namespace rs {

// The staging a KvBlockSink reads into: `options.depth` slots of `options.chunk_bytes`, O_DIRECT-aligned. Its
// pages are not yet touched; fault_in() touches them ahead of a stream (each first touch of a page is a fault,
// which on a paravirtualized VM costs about 10 µs: 80 ms for 32 MiB, more than the stream itself).
class KvStaging {
 public:
  explicit KvStaging(const io::StreamOptions& options);

  void fault_in();  // writes a byte of every page; from any one thread, before the stream

  size_t slot_bytes() const { return slot_bytes_; }
  unsigned slots() const { return slots_; }
  std::span<std::byte> slot(unsigned i) { return {memory_.get() + size_t(i) * slot_bytes_, slot_bytes_}; }

 private:
  struct FreeMemory {
    void operator()(std::byte* memory) const { std::free(memory); }
  };
  size_t slot_bytes_;
  unsigned slots_;
  std::unique_ptr<std::byte, FreeMemory> memory_;
};

class KvBlockSink final : public io::StreamSink {
 public:
  // Block `index`'s KV bytes, valid during the call; it may throw to stop the stream.
  using BlockHandler = std::function<void(uint32_t index, std::span<const std::byte> kv)>;

  // Reads into `staging`'s slots, which must outlive the sink.
  KvBlockSink(const cache::KvSnapshotHeader& header, KvStaging& staging, BlockHandler on_block);

  std::span<std::byte> destination(const io::FileRange& range) override;
  void landed(const io::FileRange& range, std::span<const std::byte> bytes) override;

  uint32_t blocks_handed() const { return next_block_; }

 private:
  void take(std::span<const std::byte> kv);  // the KV section's next bytes

  cache::KvSnapshotHeader header_;
  KvStaging& staging_;
  BlockHandler on_block_;
  std::vector<bool> busy_;
  std::vector<std::byte> split_;  // the start of a block whose end is in the next slot
  uint32_t next_block_ = 0;
};

}  // namespace rs
