// A snapshot's KV section streamed through a few small staging slots: every block handed on whole, in file order,
// with its own bytes, whether it lies inside one slot or across two or more.
#include "core/app/kv_block_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/test_files.h"

namespace rs {
namespace {

class KvBlockSinkTest : public test::ScratchDirectoryTest {
 protected:
  KvBlockSinkTest() : ScratchDirectoryTest("ringserve-kv-block-sink") {}
};

std::byte byte_of(uint32_t block, size_t at) { return std::byte((block * 31 + at * 7) & 0xff); }

TEST_F(KvBlockSinkTest, HandsOnEveryBlockWholeAndInOrderAcrossStagingSlots) {
  for (const uint64_t block_bytes : {1000u, 4096u, 5000u, 12289u}) {  // within a slot, one per slot, across slots
    cache::KvSnapshotHeader header;
    header.blocks = 7;
    header.block_bytes = block_bytes;
    header.kv_offset = 8192;  // header and records before it: passed over
    std::string file(header.file_bytes(), '\xAA');
    for (uint32_t b = 0; b < header.blocks; ++b) {
      for (size_t i = 0; i < block_bytes; ++i) file[header.kv_offset + b * block_bytes + i] = char(byte_of(b, i));
    }
    test::write_file(path("snapshot.rkv"), file);

    const io::StreamOptions options{.chunk_bytes = 4096, .depth = 3};
    KvStaging staging(options);
    staging.fault_in();
    std::vector<uint32_t> handed;
    KvBlockSink sink(header, staging, [&](uint32_t index, std::span<const std::byte> kv) {
      handed.push_back(index);
      ASSERT_EQ(kv.size(), block_bytes);
      for (size_t i = 0; i < kv.size(); ++i) ASSERT_EQ(kv[i], byte_of(index, i)) << "block " << index << " byte " << i;
    });
    io::stream_files({path("snapshot.rkv")}, sink, options);

    EXPECT_EQ(handed, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6})) << block_bytes << "-byte blocks";
    EXPECT_EQ(sink.blocks_handed(), header.blocks);
  }
}

}  // namespace
}  // namespace rs
