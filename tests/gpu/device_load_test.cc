// The disk → GPU loader on a real device: every byte of every file arrives,
// through a staging ring much smaller than the files. Skipped where no CUDA
// device is visible (GTEST_SKIP, not a failure).
#include "gpu/device_load.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu/device_copy.h"

namespace rs::gpu {
namespace {

namespace fs = std::filesystem;

class DeviceLoad : public testing::Test {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }

  // A file of `bytes` random bytes on the real disk (O_DIRECT), removed after the test.
  std::string write_file(size_t bytes, uint32_t seed) {
    const fs::path path = fs::path("/var/tmp") / ("rs-device-load-" + std::to_string(getpid()) + "-" +
                                                  std::to_string(files_.size()) + ".bin");
    std::vector<char> data(bytes);
    std::mt19937 rng(seed);
    for (char& c : data) c = char(rng());
    std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(bytes));
    files_.push_back(path.string());
    contents_.push_back(std::move(data));
    return path.string();
  }

  void TearDown() override {
    for (const std::string& file : files_) std::remove(file.c_str());
  }

  std::vector<std::string> files_;
  std::vector<std::vector<char>> contents_;
};

TEST_F(DeviceLoad, EveryByteArrivesThroughASmallRing) {
  // Sizes off the 4 KiB grid, one under a chunk, one of many chunks, one empty.
  for (const auto& [bytes, seed] : {std::pair{size_t{(40 << 20) + 123}, 1u}, {size_t{5000}, 2u}, {size_t{0}, 3u},
                                   {size_t{(9 << 20) - 7}, 4u}}) {
    write_file(bytes, seed);
  }
  const io::StreamOptions options{.chunk_bytes = 1 << 20, .depth = 4, .direct = true};
  DeviceLoadResult result;
  const DeviceImages images = stream_to_device(files_, 0, options, result);
  EXPECT_EQ(result.staging_bytes, 6u << 20);  // depth + 2 slots of one chunk
  uint64_t total = 0;
  ASSERT_EQ(images.files(), files_.size());
  for (uint32_t f = 0; f < files_.size(); ++f) {
    ASSERT_EQ(images.size(f), contents_[f].size());
    std::vector<std::byte> back(contents_[f].size());
    images.copy_to_host(f, 0, back);
    EXPECT_EQ(0, std::memcmp(back.data(), contents_[f].data(), back.size())) << files_[f];
    total += back.size();
  }
  EXPECT_EQ(result.stream.bytes, total);
  EXPECT_GT(result.stream.seconds, 0.0);
  std::vector<std::byte> past(16);
  EXPECT_THROW(images.copy_to_host(1, 4990, past), std::out_of_range);
}

TEST_F(DeviceLoad, AMissingFileIsNamed) {
  DeviceLoadResult result;
  try {
    stream_to_device({"/var/tmp/rs-no-such-model.gguf"}, 0, {}, result);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/var/tmp/rs-no-such-model.gguf"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rs::gpu
