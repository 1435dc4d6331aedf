#pragma once
// Files that tests write and read back: a whole file's bytes, and a folder of its own for each test with damaged
// copies of the files in it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

namespace rs::test {

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

// A test fixture with a fresh folder, "<stem>-<PID>-<test name>" (so tests side by side, in one binary or several,
// never share one), removed with all it holds after the test.
class ScratchDirectoryTest : public ::testing::Test {
 protected:
  explicit ScratchDirectoryTest(std::string stem) : stem_(std::move(stem)) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (stem_ + "-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // The file `name` with its byte at `offset` flipped, as `damaged`.
  std::string flipped(const std::string& name, uint64_t offset, const std::string& damaged) const {
    std::string bytes = file_bytes(path(name));
    bytes.at(offset) ^= 0x10;
    write_file(path(damaged), bytes);
    return path(damaged);
  }

 private:
  std::string stem_;
  std::filesystem::path dir_;
};

}  // namespace rs::test
