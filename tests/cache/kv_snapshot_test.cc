// The KV snapshot file: what the writer writes is what the reader reads, and every damage the reader can see
// alone is refused with one line naming the file and the field.
#include "cache/kv_snapshot.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/cache/damaged_file.h"

namespace rs::cache {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kBlockTokens = 4;
constexpr uint64_t kBlockBytes = 64;
constexpr uint64_t kSalt = 0x5a17;
constexpr size_t kRecordBytes = 24 + 4 * kBlockTokens;
// Byte offsets of the fields the tests damage.
constexpr size_t kVersionAt = 8, kBlockTokensAt = 32, kBlocksAt = 36, kBlockBytesAt = 40, kKvOffsetAt = 48;
constexpr size_t kRecordsAt = kKvSnapshotHeaderBytes;

KvSnapshotHeader test_header() {
  KvSnapshotHeader h;
  h.kv_type = 1;
  h.model_identity = 0x1234'5678'9abc'def0;
  h.salt = kSalt;
  h.block_tokens = kBlockTokens;
  h.block_bytes = kBlockBytes;
  return h;
}

// Three blocks: a chain of two, and a second child of the first (two prompts sharing their first block).
std::vector<KvSnapshotBlock> test_blocks() {
  return {{.hash = 0xa, .parent = kSalt, .tokens = {1, 2, 3, 4}},
          {.hash = 0xb, .parent = 0xa, .tokens = {5, 6, 7, 8}},
          {.hash = 0xc, .parent = 0xa, .tokens = {9, 10, 11, 12}}};
}

std::vector<std::byte> test_kv(size_t blocks) {
  std::vector<std::byte> kv(blocks * kBlockBytes);
  for (size_t i = 0; i < kv.size(); ++i) kv[i] = std::byte(i * 7 + 1);
  return kv;
}

class KvSnapshotFile : public testing::DamagedFileTest {
 protected:
  KvSnapshotFile()
      : DamagedFileTest(
            "ringserve-kv-snapshot-test", ".rkv",
            [](const std::string& path) { write_kv_snapshot(path, test_header(), test_blocks(), test_kv(3)); },
            read_kv_snapshot, parse_kv_snapshot) {}
};

TEST_F(KvSnapshotFile, WhatIsWrittenIsRead) {
  const KvSnapshot snapshot = read_kv_snapshot(path_);
  const KvSnapshotHeader& h = snapshot.header;
  EXPECT_EQ(h.kv_type, 1u);
  EXPECT_EQ(h.model_identity, 0x1234'5678'9abc'def0u);
  EXPECT_EQ(h.salt, kSalt);
  EXPECT_EQ(h.block_tokens, kBlockTokens);
  EXPECT_EQ(h.blocks, 3u);
  EXPECT_EQ(h.block_bytes, kBlockBytes);
  EXPECT_EQ(h.kv_offset, 4096u);  // the header and records, rounded up to O_DIRECT's alignment
  EXPECT_EQ(bytes_.size(), 4096u + 3 * kBlockBytes);
  EXPECT_EQ(h.file_bytes(), bytes_.size());

  const std::vector<KvSnapshotBlock> expected = test_blocks();
  const std::vector<std::byte> kv = test_kv(3);
  ASSERT_EQ(snapshot.blocks.size(), 3u);
  const uint32_t depths[] = {0, 1, 1};
  for (size_t i = 0; i < 3; ++i) {
    const KvSnapshotBlock& b = snapshot.blocks[i];
    EXPECT_EQ(b.hash, expected[i].hash);
    EXPECT_EQ(b.parent, expected[i].parent);
    EXPECT_EQ(b.tokens, expected[i].tokens);
    EXPECT_EQ(b.depth, depths[i]);
    const std::span block = std::span(kv).subspan(i * kBlockBytes, kBlockBytes);
    EXPECT_EQ(b.kv_checksum, kv_block_checksum(block));
    EXPECT_EQ(std::memcmp(bytes_.data() + h.kv_offset + i * kBlockBytes, block.data(), kBlockBytes), 0);
  }
  const KvSnapshot parsed = parse_kv_snapshot(file(), path_);
  EXPECT_EQ(parsed.blocks.size(), 3u);
  EXPECT_EQ(parsed.blocks[2].kv_checksum, snapshot.blocks[2].kv_checksum);
}

TEST_F(KvSnapshotFile, AnEmptySnapshotIsValid) {
  write_kv_snapshot(path_, test_header(), {}, {});
  const KvSnapshot snapshot = read_kv_snapshot(path_);
  EXPECT_EQ(snapshot.header.blocks, 0u);
  EXPECT_EQ(fs::file_size(path_), 4096u);
}

TEST_F(KvSnapshotFile, TheWriterRefusesSizesThatDisagree) {
  std::vector<KvSnapshotBlock> short_block = test_blocks();
  short_block[1].tokens.pop_back();
  EXPECT_THROW(write_kv_snapshot(path_, test_header(), short_block, test_kv(3)), std::invalid_argument);
  EXPECT_THROW(write_kv_snapshot(path_, test_header(), test_blocks(), test_kv(2)), std::invalid_argument);
  EXPECT_THROW(write_kv_snapshot("/nonexistent-dir/x.rkv", test_header(), test_blocks(), test_kv(3)),
               std::runtime_error);
}

TEST_F(KvSnapshotFile, EveryDamageIsRefusedNamingTheFileAndTheField) {
  const std::string& p = path_;
  EXPECT_EQ(damaged([&] { bytes_.resize(40); }), p + ": truncated: 40 bytes, shorter than the 56-byte header");
  EXPECT_EQ(damaged([&] { bytes_[3] = 'X'; }), p + ": bad magic: not a ringserve KV snapshot");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kVersionAt, 2); }),
            p + ": version 2 is not supported (this build reads version 1)");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kBlockTokensAt, 0); }),
            p + ": block size 0 tokens is out of range (1 to 65536)");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kBlockTokensAt, 70000); }),
            p + ": block size 70000 tokens is out of range (1 to 65536)");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kBlockBytesAt, 0); }), p + ": block bytes is 0");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kBlocksAt, 1000); }),
            p + ": truncated or bad block count: 1000 records of 40 bytes need 40056 bytes, the file has 4288");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kKvOffsetAt, 4097); }), p + ": KV offset 4097 is not a multiple of 4096");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kKvOffsetAt, 0); }), p + ": KV offset 0 is not where the records end (4096)");
  EXPECT_EQ(damaged([&] { bytes_.pop_back(); }),
            p + ": truncated: 4287 bytes, but 3 blocks of 64 KV bytes from offset 4096 need more");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kBlockBytesAt, ~uint64_t{0}); }),  // blocks × block bytes overflows
            p + ": truncated: 4288 bytes, but 3 blocks of 18446744073709551615 KV bytes from offset 4096 need more");
  EXPECT_EQ(damaged([&] { bytes_.push_back('\0'); }),
            p + ": file size 4289 is not the 4288 bytes its 3 blocks of 64 KV bytes take");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kRecordsAt + kRecordBytes + 8, 0xdead); }),  // block 1's parent
            p + ": block 1: parent 0xdead is neither the salt nor an earlier block's hash");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kRecordsAt + 8, 0xb); }),  // block 0's parent: its own child, not yet seen
            p + ": block 0: parent 0xb is neither the salt nor an earlier block's hash");
  EXPECT_EQ(damaged([&] { set<uint64_t>(kRecordsAt + 2 * kRecordBytes, 0xb); }),  // block 2's hash: block 1's
            p + ": block 2: chain hash 0xb repeats an earlier block's");
  EXPECT_EQ(damaged([] {}), "accepted");
}

TEST_F(KvSnapshotFile, AMissingFileIsNamed) { expect_a_missing_file_named(); }

}  // namespace
}  // namespace rs::cache
