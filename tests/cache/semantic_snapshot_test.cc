// The semantic cache file: what the writer writes is what the reader reads, and every damage the reader can see
// alone is refused with one line naming the file and the field.
#include "cache/semantic_snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <string>

#include "tests/cache/damaged_file.h"

namespace rs::cache {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSnapshotDims = 4;
const std::string kModelId = "demo";
// Byte offsets of the fields the tests damage.
constexpr size_t kSemanticVersionAt = 8, kDimsAt = 12, kEntriesAt = 32, kModelIdBytesAt = 36;
constexpr size_t kFirstEntryAt = kSemanticSnapshotHeaderBytes + 4;  // after the header and "demo"
constexpr size_t kEntryTextBytesAt = 28, kEntryFinishAt = 32, kEntryVectorAt = 33;  // within an entry
constexpr size_t kEntryLeastBytes = 33 + 4 * kSnapshotDims;

SemanticSnapshotHeader semantic_header() {
  return {.dims = kSnapshotDims, .model_identity = 0x1234'5678'9abc'def0, .model_id = kModelId, .embedding_identity = 0xe3b};
}

std::vector<SemanticSnapshotEntry> test_entries() {
  return {{{1, 2, 3}, {0.5f, 0.5f, 0.5f, 0.5f}, {"Paris.", "stop", 2}},
          {{4, 5, 6}, {1, 0, 0, 0}, {"", "length", 8}},
          {{7, 8, 9}, {0, 0.6f, 0.8f, 0}, {"日本 text", "stop", 3}}};
}

// Where entry `i` of test_entries() starts in the file.
size_t entry_at(size_t i) {
  size_t at = kFirstEntryAt;
  for (size_t e = 0; e < i; ++e) at += kEntryLeastBytes + test_entries()[e].answer.text.size();
  return at;
}

class SemanticSnapshotFile : public testing::DamagedFileTest {
 protected:
  SemanticSnapshotFile()
      : DamagedFileTest(
            "ringserve-semantic-snapshot-test", ".rsc",
            [](const std::string& path) { write_semantic_snapshot(path, semantic_header(), test_entries()); },
            read_semantic_snapshot, parse_semantic_snapshot) {}
};

TEST_F(SemanticSnapshotFile, WhatIsWrittenIsRead) {
  EXPECT_EQ(bytes_.size(), entry_at(3) + kSemanticSnapshotChecksumBytes);
  for (const SemanticSnapshot& snapshot : {read_semantic_snapshot(path_), parse_semantic_snapshot(file(), path_)}) {
    const SemanticSnapshotHeader& h = snapshot.header;
    EXPECT_EQ(h.dims, kSnapshotDims);
    EXPECT_EQ(h.model_identity, 0x1234'5678'9abc'def0u);
    EXPECT_EQ(h.model_id, kModelId);
    EXPECT_EQ(h.embedding_identity, 0xe3bu);
    const std::vector<SemanticSnapshotEntry> expected = test_entries();
    ASSERT_EQ(snapshot.entries.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const SemanticSnapshotEntry& e = snapshot.entries[i];
      EXPECT_EQ(e.key.context, expected[i].key.context);
      EXPECT_EQ(e.key.exact, expected[i].key.exact);
      EXPECT_EQ(e.key.guard, expected[i].key.guard);
      EXPECT_EQ(e.vector, expected[i].vector);
      EXPECT_EQ(e.answer.text, expected[i].answer.text);
      EXPECT_EQ(e.answer.finish_reason, expected[i].answer.finish_reason);
      EXPECT_EQ(e.answer.completion_tokens, expected[i].answer.completion_tokens);
    }
  }
}

TEST_F(SemanticSnapshotFile, AnEmptyFileIsValid) {
  write_semantic_snapshot(path_, semantic_header(), {});
  EXPECT_TRUE(read_semantic_snapshot(path_).entries.empty());
  EXPECT_EQ(fs::file_size(path_), kFirstEntryAt + kSemanticSnapshotChecksumBytes);
}

TEST_F(SemanticSnapshotFile, TheWriterRefusesWhatTheFormatCannotHold) {
  std::vector<SemanticSnapshotEntry> entries = test_entries();
  entries[1].vector.pop_back();
  EXPECT_THROW(write_semantic_snapshot(path_, semantic_header(), entries), std::invalid_argument);
  entries = test_entries();
  entries[0].vector[3] = INFINITY;
  EXPECT_THROW(write_semantic_snapshot(path_, semantic_header(), entries), std::invalid_argument);
  entries = test_entries();
  entries[2].answer.finish_reason = "abort";
  EXPECT_THROW(write_semantic_snapshot(path_, semantic_header(), entries), std::invalid_argument);
  SemanticSnapshotHeader header = semantic_header();
  header.dims = 0;
  EXPECT_THROW(write_semantic_snapshot(path_, header, {}), std::invalid_argument);
  header = semantic_header();
  header.model_id.assign(kSemanticSnapshotMaxModelIdBytes + 1, 'm');
  EXPECT_THROW(write_semantic_snapshot(path_, header, {}), std::invalid_argument);
  EXPECT_THROW(write_semantic_snapshot("/nonexistent-dir/x.rsc", semantic_header(), test_entries()), std::runtime_error);
}

TEST_F(SemanticSnapshotFile, EveryDamageIsRefusedNamingTheFileAndTheField) {
  const std::string& p = path_;
  const size_t body = written_.size() - kSemanticSnapshotChecksumBytes;  // 208
  const size_t after_id = body - kFirstEntryAt;                          // what the entries may take
  EXPECT_EQ(damaged([&] { bytes_.resize(40); }),
            p + ": truncated: 40 bytes, shorter than the 40-byte header and 8-byte checksum");
  EXPECT_EQ(damaged([&] { bytes_[3] = 'X'; }), p + ": bad magic: not a ringserve semantic cache file");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kSemanticVersionAt, 2); }),
            p + ": version 2 is not supported (this build reads version 1)");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kDimsAt, 0); }), p + ": dims 0 is out of range (1 to 65536)");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kDimsAt, 70000); }), p + ": dims 70000 is out of range (1 to 65536)");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kModelIdBytesAt, 5000); }),
            p + ": model id length 5000 is over the 4096-byte limit");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kModelIdBytesAt, 4000); }),
            p + ": truncated: a model id of 4000 bytes, but " + std::to_string(body - 40) +
                " bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kEntriesAt, 1000); }),
            p + ": truncated or bad entry count: 1000 entries of at least 49 bytes, but " + std::to_string(after_id) +
                " bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { set<uint32_t>(kEntriesAt, 2); }),
            p + ": " + std::to_string(body - entry_at(2)) +
                " bytes are left over after the 2 entries of the entry count, before the checksum");
  EXPECT_EQ(damaged([&] { set<uint32_t>(entry_at(2) + kEntryTextBytesAt, 1000); }),
            p + ": entry 2: truncated: a text of 1000 bytes, but 11 bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { set<uint32_t>(entry_at(1) + kEntryTextBytesAt, 100); }),  // it takes entry 2's bytes
            p + ": entry 1: truncated: a text of 100 bytes, but " +
                std::to_string(body - entry_at(1) - kEntryLeastBytes) + " bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { set<uint32_t>(entry_at(1) + kEntryTextBytesAt, 20); }),  // entry 2 starts inside its text
            p + ": entry 2: truncated: it needs at least 49 bytes, 40 are left before the checksum");
  EXPECT_EQ(damaged([&] { set<uint8_t>(entry_at(1) + kEntryFinishAt, 2); }),
            p + ": entry 1: finish reason 2 is neither 0 (stop) nor 1 (length)");
  EXPECT_EQ(damaged([&] { set<float>(entry_at(0) + kEntryVectorAt + 4, NAN); }),
            p + ": entry 0: vector element 1 is not finite");
  EXPECT_EQ(damaged([&] { bytes_.pop_back(); }),
            p + ": entry 2: truncated: a text of 11 bytes, but 10 bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { bytes_.resize(written_.size() - 100); }),
            p + ": truncated or bad entry count: 3 entries of at least 49 bytes, but " +
                std::to_string(after_id - 100) + " bytes are left before the checksum");
  EXPECT_EQ(damaged([&] { bytes_.push_back('\0'); }),
            p + ": 1 bytes are left over after the 3 entries of the entry count, before the checksum");
  const std::regex checksum(std::regex_replace(p, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                            ": checksum 0x[0-9a-f]+ is not the 0x[0-9a-f]+ of the file's bytes: the file is damaged");
  EXPECT_TRUE(std::regex_match(damaged([&] { bytes_[entry_at(0) + kEntryLeastBytes] ^= 0x20; }), checksum));  // text
  EXPECT_TRUE(std::regex_match(damaged([&] { bytes_[entry_at(2) + 4] ^= 0x01; }), checksum));  // entry 2's context
  EXPECT_TRUE(std::regex_match(damaged([&] { bytes_.back() ^= 0x01; }), checksum));
  EXPECT_EQ(damaged([] {}), "accepted");
}

TEST_F(SemanticSnapshotFile, AMissingFileIsNamed) { expect_a_missing_file_named(); }

}  // namespace
}  // namespace rs::cache
