#pragma once
// A prefix-cache snapshot file (`ringserve warm` writes it, `serve --prefix-cache-file` loads it): cached KV
// blocks with their chain hashes and token ids, so a server starts with its prefix cache already warm.
//
// Layout, little-endian:
//   header   (kKvSnapshotHeaderBytes)  magic "RSKVSNAP", version, KV type (ggml id), model identity, salt,
//                                      block size (tokens), block count, block bytes, KV offset
//   records  (count × record_bytes)    per block: chain hash, parent's hash (the salt for a first block),
//                                      XXH3 of its KV bytes, its block-size token ids
//   zeros up to the KV offset, the first multiple of 4096 after the records
//   KV       (count × block bytes)     each block's keys and values, in record order
// A block's parent comes before it, so a reader meets every chain from its start; a block shared by several
// prompts is there once. The KV section is 4 KiB-aligned so that a loader streams it with O_DIRECT.
//
// This reader checks the file's own consistency (magic, version, sizes, counts, alignment, truncation, parents
// seen before, hashes unique); what needs the hash function and the model (each hash against its parent and
// tokens, the salt, KV type and block bytes against the server's) is the loader's to check.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs::cache {

inline constexpr uint32_t kKvSnapshotVersion = 1;
inline constexpr size_t kKvSnapshotHeaderBytes = 56;
inline constexpr uint64_t kKvSnapshotAlignment = 4096;  // of the KV section: O_DIRECT's
inline constexpr uint32_t kKvSnapshotMaxBlockTokens = 1 << 16;

struct KvSnapshotHeader {
  uint32_t kv_type = 0;         // ggml's id of the KV element type (f16: 1)
  uint64_t model_identity = 0;  // model::model_identity of the weights
  uint64_t salt = 0;            // kv::chain_salt: the parent of every first block
  uint32_t block_tokens = 0;
  uint32_t blocks = 0;
  uint64_t block_bytes = 0;     // KV bytes of one block
  uint64_t kv_offset = 0;       // where the KV section starts; set by the writer

  uint64_t record_bytes() const { return 24 + 4 * uint64_t(block_tokens); }
  uint64_t file_bytes() const { return kv_offset + uint64_t(blocks) * block_bytes; }
};

struct KvSnapshotBlock {
  uint64_t hash = 0;
  uint64_t parent = 0;
  uint64_t kv_checksum = 0;     // kv_block_checksum of its KV bytes; set by the writer
  std::vector<int32_t> tokens;  // block_tokens of them
  uint32_t depth = 0;           // not stored: its place in its chain (0 for a first block), set by the reader
};

struct KvSnapshot {
  KvSnapshotHeader header;
  std::vector<KvSnapshotBlock> blocks;
};

// What a block's kv_checksum is: XXH3 of its KV bytes.
uint64_t kv_block_checksum(std::span<const std::byte> kv);

// Writes `blocks` (their KV bytes in `kv`, one block_bytes after another) under `header` to `path`, through a
// temporary file renamed into place, filling in the checksums and the KV offset. Throws std::invalid_argument
// when the sizes disagree, std::runtime_error naming the file when it cannot write.
void write_kv_snapshot(const std::string& path, KvSnapshotHeader header, std::vector<KvSnapshotBlock> blocks,
                       std::span<const std::byte> kv);

// The header and records of the snapshot at `path` (its KV bytes stay on disk). Throws std::runtime_error, one
// line naming the file and the field, for a file that is not a valid snapshot.
KvSnapshot read_kv_snapshot(const std::string& path);
// The same from a whole file's bytes; `name` is the file's name in errors.
KvSnapshot parse_kv_snapshot(std::span<const std::byte> file, std::string_view name);

}  // namespace rs::cache
