// What the tests of the cache's files share: a valid file written afresh for each test, its bytes held to be
// damaged, and what the file reader and the in-memory parser make of the damage.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "tests/support/test_files.h"

namespace rs::cache::testing {

// A test fixture over one file format, given how to write a valid file, read one and parse one in memory; the
// reader and the parser refuse what they cannot take with a std::runtime_error.
class DamagedFileTest : public ::testing::Test {
 protected:
  using Write = std::function<void(const std::string& path)>;
  using Read = std::function<void(const std::string& path)>;
  using Parse = std::function<void(std::span<const std::byte> file, std::string_view name)>;

  // The file is "<stem>-<PID><extension>" in the temporary folder: test binaries side by side never share one.
  DamagedFileTest(std::string_view stem, std::string_view extension, Write write, Read read, Parse parse)
      : path_((std::filesystem::temp_directory_path() /
               (std::string(stem) + "-" + std::to_string(getpid()) + std::string(extension)))
                  .string()),
        write_(std::move(write)),
        read_(std::move(read)),
        parse_(std::move(parse)) {}

  void SetUp() override {
    write_(path_);
    written_ = bytes_ = test::file_bytes(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // bytes_ as the parser takes them.
  std::span<const std::byte> file() const { return {reinterpret_cast<const std::byte*>(bytes_.data()), bytes_.size()}; }

  template <typename T>
  void set(size_t offset, T value) {
    std::memcpy(bytes_.data() + offset, &value, sizeof value);
  }

  // The reader's one-line refusal of the file with bytes_ as its bytes.
  std::string refusal() {
    test::write_file(path_, bytes_);
    try {
      read_(path_);
    } catch (const std::runtime_error& e) {
      EXPECT_THROW(parse_(file(), path_), std::runtime_error);  // the same bytes in memory, the same verdict
      return e.what();
    }
    return "accepted";
  }

  // The refusal of the file as written once `damage` has changed bytes_.
  template <typename Damage>
  std::string damaged(Damage damage) {
    bytes_ = written_;
    damage();
    return refusal();
  }

  // Reading the file once it is gone names the file.
  void expect_a_missing_file_named() {
    std::filesystem::remove(path_);
    try {
      read_(path_);
      FAIL() << "read a missing file";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), path_ + ": cannot open: No such file or directory");
    }
  }

  std::string path_;
  std::string written_;  // the valid file, as SetUp wrote it
  std::string bytes_;

 private:
  Write write_;
  Read read_;
  Parse parse_;
};

}  // namespace rs::cache::testing
