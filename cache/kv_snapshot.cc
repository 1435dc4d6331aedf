#include "cache/kv_snapshot.h"

#include <xxhash.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "cache/snapshot_file.h"

namespace rs::cache {
namespace {

constexpr std::string_view kKvSnapshotMagic = "RSKVSNAP";

uint64_t round_up(uint64_t n) { return (n + kKvSnapshotAlignment - 1) / kKvSnapshotAlignment * kKvSnapshotAlignment; }

std::string encode_index(const KvSnapshotHeader& h, const std::vector<KvSnapshotBlock>& blocks) {
  FieldWriter out;
  out.put_bytes(kKvSnapshotMagic);
  out.put(kKvSnapshotVersion);
  out.put(h.kv_type);
  out.put(h.model_identity);
  out.put(h.salt);
  out.put(h.block_tokens);
  out.put(h.blocks);
  out.put(h.block_bytes);
  out.put(h.kv_offset);
  for (const KvSnapshotBlock& b : blocks) {
    out.put(b.hash);
    out.put(b.parent);
    out.put(b.kv_checksum);
    for (const int32_t token : b.tokens) out.put(token);
  }
  out.pad_to(h.kv_offset);
  return out.bytes();
}

// Where the records end, once the block count is known to fit the file.
uint64_t records_end(const KvSnapshotHeader& h, uint64_t file_bytes, std::string_view name) {
  const uint64_t end = kKvSnapshotHeaderBytes + uint64_t(h.blocks) * h.record_bytes();
  if (end > file_bytes) {
    refuse_file(name, fmt::format("truncated or bad block count: {} records of {} bytes need {} bytes, the file has {}",
                                  h.blocks, h.record_bytes(), end, file_bytes));
  }
  return end;
}

// The KV section: aligned, right after the records, and exactly as long as the blocks' KV.
void check_kv_section(const KvSnapshotHeader& h, uint64_t records_end, uint64_t file_bytes, std::string_view name) {
  if (h.kv_offset % kKvSnapshotAlignment != 0) {
    refuse_file(name, fmt::format("KV offset {} is not a multiple of {}", h.kv_offset, kKvSnapshotAlignment));
  }
  if (h.kv_offset != round_up(records_end)) {
    refuse_file(name,
                fmt::format("KV offset {} is not where the records end ({})", h.kv_offset, round_up(records_end)));
  }
  uint64_t kv_bytes = 0, end = 0;
  if (__builtin_mul_overflow(uint64_t(h.blocks), h.block_bytes, &kv_bytes) ||
      __builtin_add_overflow(h.kv_offset, kv_bytes, &end) || end > file_bytes) {
    refuse_file(name, fmt::format("truncated: {} bytes, but {} blocks of {} KV bytes from offset {} need more",
                                  file_bytes, h.blocks, h.block_bytes, h.kv_offset));
  }
  if (end < file_bytes) {
    refuse_file(name, fmt::format("file size {} is not the {} bytes its {} blocks of {} KV bytes take", file_bytes, end,
                                  h.blocks, h.block_bytes));
  }
}

KvSnapshotHeader decode_header(std::span<const std::byte> head, std::string_view name) {
  FieldReader in(head);
  if (in.get_bytes(kKvSnapshotMagic.size()) != kKvSnapshotMagic) refuse_file(name, "bad magic: not a ringserve KV snapshot");
  if (const auto version = in.get<uint32_t>(); version != kKvSnapshotVersion) {
    refuse_file(name, fmt::format("version {} is not supported (this build reads version {})", version,
                                  kKvSnapshotVersion));
  }
  KvSnapshotHeader h;
  h.kv_type = in.get<uint32_t>();
  h.model_identity = in.get<uint64_t>();
  h.salt = in.get<uint64_t>();
  h.block_tokens = in.get<uint32_t>();
  h.blocks = in.get<uint32_t>();
  h.block_bytes = in.get<uint64_t>();
  h.kv_offset = in.get<uint64_t>();
  return h;
}

// The header of a `file_bytes`-byte file from its first bytes (`head`: at least the header's, when the file has
// them), checked against the file's size.
KvSnapshotHeader parse_header(std::span<const std::byte> head, uint64_t file_bytes, std::string_view name) {
  if (file_bytes < kKvSnapshotHeaderBytes) {
    refuse_file(name, fmt::format("truncated: {} bytes, shorter than the {}-byte header", file_bytes,
                                  kKvSnapshotHeaderBytes));
  }
  const KvSnapshotHeader h = decode_header(head, name);
  if (h.block_tokens == 0 || h.block_tokens > kKvSnapshotMaxBlockTokens) {
    refuse_file(name, fmt::format("block size {} tokens is out of range (1 to {})", h.block_tokens,
                                  kKvSnapshotMaxBlockTokens));
  }
  if (h.block_bytes == 0) refuse_file(name, "block bytes is 0");
  check_kv_section(h, records_end(h, file_bytes, name), file_bytes, name);
  return h;
}

// The records, each block's parent met before it (or the salt) and no hash twice.
std::vector<KvSnapshotBlock> parse_blocks(const KvSnapshotHeader& h, std::span<const std::byte> records,
                                          std::string_view name) {
  FieldReader in(records);
  std::vector<KvSnapshotBlock> blocks(h.blocks);
  std::unordered_map<uint64_t, uint32_t> depths;  // hash → depth of the blocks seen so far
  for (uint32_t i = 0; i < h.blocks; ++i) {
    KvSnapshotBlock& b = blocks[i];
    b.hash = in.get<uint64_t>();
    b.parent = in.get<uint64_t>();
    b.kv_checksum = in.get<uint64_t>();
    b.tokens.resize(h.block_tokens);
    for (int32_t& token : b.tokens) token = in.get<int32_t>();
    const auto parent = depths.find(b.parent);
    if (b.parent != h.salt && parent == depths.end()) {
      refuse_file(name,
                  fmt::format("block {}: parent {:#x} is neither the salt nor an earlier block's hash", i, b.parent));
    }
    b.depth = b.parent == h.salt ? 0 : parent->second + 1;
    if (!depths.emplace(b.hash, b.depth).second) {
      refuse_file(name, fmt::format("block {}: chain hash {:#x} repeats an earlier block's", i, b.hash));
    }
  }
  return blocks;
}

}  // namespace

uint64_t kv_block_checksum(std::span<const std::byte> kv) { return XXH3_64bits(kv.data(), kv.size()); }

void write_kv_snapshot(const std::string& path, KvSnapshotHeader header, std::vector<KvSnapshotBlock> blocks,
                       std::span<const std::byte> kv) {
  if (blocks.size() > UINT32_MAX || kv.size() != blocks.size() * header.block_bytes) {
    throw std::invalid_argument(fmt::format("{}: {} blocks of {} KV bytes, but {} KV bytes given", path,
                                            blocks.size(), header.block_bytes, kv.size()));
  }
  header.blocks = uint32_t(blocks.size());
  header.kv_offset = round_up(kKvSnapshotHeaderBytes + uint64_t(header.blocks) * header.record_bytes());
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i].tokens.size() != header.block_tokens) {
      throw std::invalid_argument(fmt::format("{}: block {} has {} tokens, not {}", path, i, blocks[i].tokens.size(),
                                              header.block_tokens));
    }
    blocks[i].kv_checksum = kv_block_checksum(kv.subspan(i * header.block_bytes, header.block_bytes));
  }
  write_file_atomically(path, {encode_index(header, blocks),
                               std::string_view(reinterpret_cast<const char*>(kv.data()), kv.size())});
}

KvSnapshot read_kv_snapshot(const std::string& path) {
  const ReadOnlyFile file(path);
  const uint64_t size = file.size();
  KvSnapshot snapshot;
  snapshot.header = parse_header(file.read(0, std::min<uint64_t>(size, kKvSnapshotHeaderBytes)), size, path);
  const KvSnapshotHeader& h = snapshot.header;
  snapshot.blocks = parse_blocks(h, file.read(kKvSnapshotHeaderBytes, uint64_t(h.blocks) * h.record_bytes()), path);
  return snapshot;
}

KvSnapshot parse_kv_snapshot(std::span<const std::byte> file, std::string_view name) {
  KvSnapshot snapshot;
  snapshot.header = parse_header(file, file.size(), name);
  const KvSnapshotHeader& h = snapshot.header;
  snapshot.blocks = parse_blocks(h, file.subspan(kKvSnapshotHeaderBytes, uint64_t(h.blocks) * h.record_bytes()), name);
  return snapshot;
}

}  // namespace rs::cache
