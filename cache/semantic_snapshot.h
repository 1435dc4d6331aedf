#pragma once
// A semantic cache file (`ringserve warm --semantic` writes it, `serve --semantic-cache-file` loads it): answers
// with their keys and embeddings, so a server starts with its semantic cache already holding them.
//
// Layout, little-endian:
//   header   (kSemanticSnapshotHeaderBytes)  magic "RSSEMSNP", version, dims, the LLM's model identity, the
//                                            embedding model's identity, entry count, served model id's bytes
//   model id (its bytes)                     the served model id the keys were made with (it enters every
//                                            context hash, so another --model-name never matches)
//   entries  (count of them)                 per entry: context, exact and guard hashes, completion tokens,
//                                            text bytes, finish reason (0 stop, 1 length), the vector (dims
//                                            floats), the text
//   checksum (8 bytes)                       XXH3 of every byte before it
//
// This reader checks the file's own consistency (magic, version, every length against what is left of the file,
// finish reasons, finite vectors, the checksum); whether it was made for this server's models is the loader's to
// check (core/app/semantic_cache_file).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/semantic_store.h"

namespace rs::cache {

inline constexpr uint32_t kSemanticSnapshotVersion = 1;
inline constexpr size_t kSemanticSnapshotHeaderBytes = 40;
inline constexpr size_t kSemanticSnapshotChecksumBytes = 8;
inline constexpr uint32_t kSemanticSnapshotMaxDims = 1 << 16;
inline constexpr uint32_t kSemanticSnapshotMaxModelIdBytes = 4096;

struct SemanticSnapshotHeader {
  uint32_t dims = 0;                // every vector's length
  uint64_t model_identity = 0;      // model::model_identity of the LLM's weights
  std::string model_id;             // the id the LLM was served under when the keys were made
  uint64_t embedding_identity = 0;  // model::encoder_identity of the embedding model
};

struct SemanticSnapshotEntry {
  SemanticKey key;
  std::vector<float> vector;  // dims of them, L2-normalised
  SemanticAnswer answer;      // finish_reason "stop" or "length"
};

struct SemanticSnapshot {
  SemanticSnapshotHeader header;
  std::vector<SemanticSnapshotEntry> entries;
};

// Writes `entries` under `header` to `path`, through a temporary file renamed into place. Throws
// std::invalid_argument for a vector not of dims finite floats, a finish reason other than stop or length, or
// sizes the format cannot hold; std::runtime_error naming the file when it cannot write.
void write_semantic_snapshot(const std::string& path, const SemanticSnapshotHeader& header,
                             std::span<const SemanticSnapshotEntry> entries);

// The semantic cache file at `path`. Throws std::runtime_error, one line naming the file and the field, for a
// file that is not a valid one.
SemanticSnapshot read_semantic_snapshot(const std::string& path);
// The same from a whole file's bytes; `name` is the file's name in errors.
SemanticSnapshot parse_semantic_snapshot(std::span<const std::byte> file, std::string_view name);

}  // namespace rs::cache
