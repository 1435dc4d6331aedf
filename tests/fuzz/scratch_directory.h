#pragma once
// A directory of one fuzz target's process, for targets whose input is files in a directory: in memory (/dev/shm)
// where there is one, since every input writes its files, and removed at exit.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace rs::fuzz {

class ScratchDirectory {
 public:
  explicit ScratchDirectory(std::string_view target) {
    std::error_code ignored;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ignored)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    path_ = base / (std::string(target) + "-" + std::to_string(getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path_); }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // `name` holding `bytes`, or no such file when `bytes` is empty.
  void write(const std::string& name, std::string_view bytes) const {
    if (bytes.empty()) {
      std::filesystem::remove(path_ / name);
      return;
    }
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  }

 private:
  std::filesystem::path path_;
};

}  // namespace rs::fuzz
