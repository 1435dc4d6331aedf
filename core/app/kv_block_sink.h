#pragma once
// Where a KV snapshot's bytes stream to (io::stream_files, O_DIRECT): a few aligned staging chunks, from which
// each block of the KV section is handed on whole, in file order; a block split between two chunks is put
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

class KvBlockSink final : public io::StreamSink {
 public:
  // Block `index`'s KV bytes, valid during the call; it may throw to stop the stream.
  using BlockHandler = std::function<void(uint32_t index, std::span<const std::byte> kv)>;

  // Room for `options.depth` reads of `options.chunk_bytes`.
  KvBlockSink(const cache::KvSnapshotHeader& header, const io::StreamOptions& options, BlockHandler on_block);

  std::span<std::byte> destination(const io::FileRange& range) override;
  void landed(const io::FileRange& range, std::span<const std::byte> bytes) override;

  uint32_t blocks_handed() const { return next_block_; }

 private:
  struct FreeMemory {
    void operator()(std::byte* memory) const { std::free(memory); }
  };

  void take(std::span<const std::byte> kv);  // the KV section's next bytes

  cache::KvSnapshotHeader header_;
  BlockHandler on_block_;
  size_t slot_bytes_;
  std::unique_ptr<std::byte, FreeMemory> slots_;
  std::vector<bool> busy_;
  std::vector<std::byte> split_;  // the start of a block whose end is in the next chunk
  uint32_t next_block_ = 0;
};

}  // namespace rs
