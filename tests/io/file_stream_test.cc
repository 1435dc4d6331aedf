// stream_files: exact bytes for many chunk/depth settings and awkward sizes,
// parallel shards, the page-cache fallback, bounded staging, and errors.
#include "io/file_stream.h"

#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/ci.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/base/log.h"
#include "io/host_memory_sink.h"

namespace rs::io {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSizes[] = {0, 1, 4095, 4096, 4097, kMiB + 13, 37 * kMiB + 1};

std::vector<std::byte> pseudo_random_bytes(uint64_t size, uint64_t seed) {
  std::vector<std::byte> bytes(size);
  std::mt19937_64 generator(seed);
  for (uint64_t i = 0; i < size; i += 8) {
    const uint64_t word = generator();
    std::memcpy(bytes.data() + i, &word, std::min<uint64_t>(8, size - i));
  }
  return bytes;
}

void write_file(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

bool on_tmpfs(const fs::path& path) {
  struct statfs filesystem{};
  return statfs(path.c_str(), &filesystem) == 0 && filesystem.f_type == TMPFS_MAGIC;
}

testing::AssertionResult same_bytes(std::span<const std::byte> got,
                                    std::span<const std::byte> want) {
  if (got.size() != want.size()) {
    return testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size();
  }
  const auto [g, w] = std::mismatch(got.begin(), got.end(), want.begin());
  if (g != got.end()) {
    return testing::AssertionFailure() << "first difference at byte " << (g - got.begin());
  }
  return testing::AssertionSuccess();
}

// Streams into host memory and records what the streamer asked and told, to check its contract.
class RecordingSink final : public StreamSink {
 public:
  void opened(uint32_t file, uint64_t size) override {
    host_.opened(file, size);
    if (landed_.size() <= file) landed_.resize(file + 1);
  }

  std::span<std::byte> destination(const FileRange& range) override {
    const std::span<std::byte> memory = host_.destination(range);
    asked_.push_back(range);
    pending_[{range.file, range.offset}] = memory.data();
    most_pending_ = std::max(most_pending_, pending_.size());
    return memory;
  }

  void landed(const FileRange& range, std::span<const std::byte> bytes) override {
    const auto given = pending_.find({range.file, range.offset});
    ASSERT_NE(given, pending_.end())
        << "landed a range never given: file " << range.file << " offset " << range.offset;
    EXPECT_EQ(bytes.data(), given->second);
    EXPECT_EQ(bytes.size(), range.bytes);
    pending_.erase(given);
    landed_.at(range.file).push_back(range);
  }

  // `file`'s ranges, in landing order, tile [0, size) in chunks of at most `chunk`: every byte
  // once, in order.
  void expect_tiled(uint32_t file, uint64_t size, uint64_t chunk) const {
    uint64_t next = 0;
    for (const FileRange& range : landed_.at(file)) {
      EXPECT_EQ(range.offset, next);
      EXPECT_GT(range.bytes, 0u);
      EXPECT_LE(range.bytes, chunk);
      next = range.offset + range.bytes;
    }
    EXPECT_EQ(next, size);
    EXPECT_TRUE(pending_.empty());
  }

  std::span<const std::byte> image(uint32_t file) const { return host_.image(file); }
  const std::vector<FileRange>& asked() const { return asked_; }
  const std::vector<FileRange>& landed(uint32_t file) const { return landed_.at(file); }
  size_t most_pending() const { return most_pending_; }

 private:
  HostMemorySink host_;
  std::vector<FileRange> asked_;
  std::map<std::pair<uint32_t, uint64_t>, std::byte*> pending_;  // given out, not landed yet
  size_t most_pending_ = 0;
  std::vector<std::vector<FileRange>> landed_;
};

// The CUDA pattern: a few fixed staging slots, each copied out and recycled as its chunk lands.
class StagingSink final : public StreamSink {
 public:
  StagingSink(size_t slots, size_t slot_bytes)
      : slot_bytes_(slot_bytes),
        memory_(static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, slots * slot_bytes)),
                &std::free) {
    for (size_t slot = 0; slot < slots; ++slot) free_slots_.push_back(slot);
  }

  void opened(uint32_t file, uint64_t size) override {
    if (images_.size() <= file) images_.resize(file + 1);
    images_[file].resize(size);
  }

  std::span<std::byte> destination(const FileRange&) override {
    if (free_slots_.empty()) return {};
    const size_t slot = free_slots_.back();
    free_slots_.pop_back();
    return {memory_.get() + slot * slot_bytes_, slot_bytes_};
  }

  void landed(const FileRange& range, std::span<const std::byte> bytes) override {
    std::vector<std::byte>& image = images_.at(range.file);
    EXPECT_EQ(range.offset, landed_bytes(range.file)) << "file " << range.file << " out of order";
    std::copy(bytes.begin(), bytes.end(), image.begin() + std::ptrdiff_t(range.offset));
    next_offset_[range.file] = range.offset + range.bytes;
    free_slots_.push_back(size_t(bytes.data() - memory_.get()) / slot_bytes_);
  }

  uint64_t landed_bytes(uint32_t file) const {
    const auto it = next_offset_.find(file);
    return it == next_offset_.end() ? 0 : it->second;
  }
  const std::vector<std::byte>& image(uint32_t file) const { return images_.at(file); }

 private:
  const size_t slot_bytes_;
  std::unique_ptr<std::byte, decltype(&std::free)> memory_;
  std::vector<size_t> free_slots_;
  std::vector<std::vector<std::byte>> images_;
  std::map<uint32_t, uint64_t> next_offset_;
};

// Test files live on the real disk (not tmpfs, where O_DIRECT is not direct) and are written once.
class FileStream : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::set_level(log::Level::warn);  // one "loaded" line per stream would drown the test output
    char dir_template[] = "/var/tmp/rs-file-stream-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = new fs::path(dir_template);
    contents_ = new std::map<uint64_t, std::vector<std::byte>>;
    for (const uint64_t size : kSizes) {
      (*contents_)[size] = pseudo_random_bytes(size, size + 1);
      write_file(sized_path(size), (*contents_)[size]);
    }
  }

  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete contents_;
  }

  static std::string sized_path(uint64_t size) {
    return (*dir_ / ("size-" + std::to_string(size))).string();
  }
  static const std::vector<std::byte>& contents(uint64_t size) { return contents_->at(size); }
  static const fs::path& dir() { return *dir_; }

 private:
  static inline fs::path* dir_ = nullptr;
  static inline std::map<uint64_t, std::vector<std::byte>>* contents_ = nullptr;
};

// Chunk size, reads in flight, and io_uring or pread (as where a seccomp profile refuses io_uring).
class FileStreamSettings : public FileStream,
                           public testing::WithParamInterface<std::tuple<size_t, unsigned, bool>> {};

TEST_P(FileStreamSettings, DeliversEveryByteOnceInFileOrder) {
  const auto [chunk, depth, io_uring] = GetParam();
  for (const uint64_t size : kSizes) {
    SCOPED_TRACE(testing::Message() << "file of " << size << " bytes");
    RecordingSink sink;
    const StreamResult result =
        stream_files({sized_path(size)}, sink, {.chunk_bytes = chunk, .depth = depth, .io_uring = io_uring});
    EXPECT_EQ(result.bytes, size);
    EXPECT_EQ(result.direct, !on_tmpfs(dir()));
    EXPECT_TRUE(same_bytes(sink.image(0), contents(size)));
    sink.expect_tiled(0, size, chunk);
    EXPECT_LE(sink.most_pending(), depth);
  }
}

INSTANTIATE_TEST_SUITE_P(FileStream, FileStreamSettings,
                         testing::Combine(testing::Values(4096, 64 * 1024, kMiB, 16 * kMiB),
                                          testing::Values(1u, 2u, 8u, 32u), testing::Bool()),
                         [](const testing::TestParamInfo<std::tuple<size_t, unsigned, bool>>& info) {
                           return "chunk" + std::to_string(std::get<0>(info.param)) + "_depth" +
                                  std::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_io_uring" : "_pread");
                         });

TEST_F(FileStream, ReadsShardsInParallel) {
  const std::vector<uint64_t> sizes = {37 * kMiB + 1, kMiB + 13, 4097};
  std::vector<std::string> paths;
  for (const uint64_t size : sizes) paths.push_back(sized_path(size));
  RecordingSink sink;
  const StreamResult result = stream_files(paths, sink, {.chunk_bytes = 256 * 1024, .depth = 8});
  EXPECT_EQ(result.bytes, sizes[0] + sizes[1] + sizes[2]);
  for (uint32_t file = 0; file < sizes.size(); ++file) {
    SCOPED_TRACE(testing::Message() << "file " << file);
    EXPECT_TRUE(same_bytes(sink.image(file), contents(sizes[file])));
    sink.expect_tiled(file, sizes[file], 256 * 1024);
  }
  // Round-robin: the first reads go to every file before any file gets a second.
  ASSERT_GE(sink.asked().size(), 3u);
  EXPECT_EQ(sink.asked()[0].file, 0u);
  EXPECT_EQ(sink.asked()[1].file, 1u);
  EXPECT_EQ(sink.asked()[2].file, 2u);
}

TEST_F(FileStream, TmpfsIsReadThroughThePageCache) {
  if (!fs::is_directory("/dev/shm") || !on_tmpfs("/dev/shm")) {
    RS_SKIP_UNLESS_CI("no tmpfs at /dev/shm");
  }
  const fs::path path = fs::path("/dev/shm") / ("rs-file-stream-" + std::to_string(getpid()));
  write_file(path, contents(kMiB + 13));
  RecordingSink sink;
  const StreamResult result = stream_files({path.string()}, sink, {.chunk_bytes = 64 * 1024});
  fs::remove(path);
  EXPECT_FALSE(result.direct);
  EXPECT_EQ(result.bytes, kMiB + 13);
  EXPECT_TRUE(same_bytes(sink.image(0), contents(kMiB + 13)));
}

TEST_F(FileStream, DirectFalseReadsThroughThePageCache) {
  RecordingSink sink;
  const StreamResult result = stream_files({sized_path(37 * kMiB + 1)}, sink, {.direct = false});
  EXPECT_FALSE(result.direct);
  EXPECT_TRUE(same_bytes(sink.image(0), contents(37 * kMiB + 1)));
  sink.expect_tiled(0, 37 * kMiB + 1, StreamOptions{}.chunk_bytes);
}

TEST_F(FileStream, BoundedStagingReceivesEveryChunkInOrder) {
  const std::vector<uint64_t> sizes = {37 * kMiB + 1, 4095, kMiB + 13};
  std::vector<std::string> paths;
  for (const uint64_t size : sizes) paths.push_back(sized_path(size));
  StagingSink sink(2, 64 * 1024);
  const StreamResult result = stream_files(paths, sink, {.chunk_bytes = 64 * 1024, .depth = 8});
  EXPECT_EQ(result.bytes, sizes[0] + sizes[1] + sizes[2]);
  for (uint32_t file = 0; file < sizes.size(); ++file) {
    SCOPED_TRACE(testing::Message() << "file " << file);
    EXPECT_EQ(sink.landed_bytes(file), sizes[file]);
    EXPECT_TRUE(same_bytes(sink.image(file), contents(sizes[file])));
  }
}

TEST_F(FileStream, MissingFileIsAnErrorNamingIt) {
  const std::string missing = (dir() / "no-such-model.gguf").string();
  RecordingSink sink;
  try {
    stream_files({sized_path(4096), missing}, sink, {});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST_F(FileStream, DirectoryIsAnErrorNamingIt) {
  RecordingSink sink;
  try {
    stream_files({dir().string()}, sink, {});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir().string()), std::string::npos) << e.what();
  }
}

TEST_F(FileStream, RejectsBadOptions) {
  RecordingSink sink;
  const std::vector<std::string> paths = {sized_path(4096)};
  EXPECT_THROW(stream_files(paths, sink, {.chunk_bytes = 1000}), std::invalid_argument);
  EXPECT_THROW(stream_files(paths, sink, {.chunk_bytes = 0}), std::invalid_argument);
  EXPECT_THROW(stream_files(paths, sink, {.depth = 0}), std::invalid_argument);
}

// A sink that gives what `give` returns and throws from landed() once `fail_after` chunks landed.
class ScriptedSink final : public StreamSink {
 public:
  std::function<std::span<std::byte>(const FileRange&)> give;
  int fail_after = -1;
  std::span<std::byte> destination(const FileRange& range) override { return give(range); }
  void landed(const FileRange&, std::span<const std::byte>) override {
    if (fail_after >= 0 && landed_count_++ == fail_after) throw std::runtime_error("sink failed");
  }

 private:
  int landed_count_ = 0;
};

TEST_F(FileStream, RejectsASinkBreakingItsContract) {
  HostMemorySink host;
  host.opened(0, 2 * kDirectAlignment);
  ScriptedSink misaligned;
  misaligned.give = [&](const FileRange& range) {
    return host.destination(range).subspan(1, 4096);
  };
  EXPECT_THROW(stream_files({sized_path(4097)}, misaligned, {}), std::logic_error);

  ScriptedSink too_small;  // 4097 bytes need two whole blocks
  too_small.give = [&](const FileRange& range) { return host.destination(range).first(4097); };
  EXPECT_THROW(stream_files({sized_path(4097)}, too_small, {}), std::logic_error);

  ScriptedSink never_gives;
  never_gives.give = [](const FileRange&) { return std::span<std::byte>(); };
  EXPECT_THROW(stream_files({sized_path(4097)}, never_gives, {}), std::logic_error);
}

TEST_F(FileStream, SinkErrorStopsTheLoadAndPropagates) {
  HostMemorySink host;
  host.opened(0, 37 * kMiB + 1);
  ScriptedSink failing;
  failing.give = [&](const FileRange& range) { return host.destination(range); };
  failing.fail_after = 2;
  try {
    stream_files({sized_path(37 * kMiB + 1)}, failing, {.chunk_bytes = kMiB, .depth = 8});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "sink failed");
  }
}

}  // namespace
}  // namespace rs::io
