#include "cache/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace rs::cache {

void refuse_file(std::string_view name, std::string_view reason) {
  throw std::runtime_error(fmt::format("{}: {}", name, reason));
}

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path), fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (fd_ < 0) refuse_file(path_, fmt::format("cannot open: {}", std::strerror(errno)));
}

ReadOnlyFile::~ReadOnlyFile() { close(fd_); }

uint64_t ReadOnlyFile::size() const {
  struct stat status{};
  if (fstat(fd_, &status) != 0) refuse_file(path_, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(status.st_mode)) refuse_file(path_, "not a regular file");
  return uint64_t(status.st_size);
}

std::vector<std::byte> ReadOnlyFile::read(uint64_t offset, uint64_t bytes) const {
  std::vector<std::byte> out(bytes);
  for (uint64_t done = 0; done < bytes;) {
    const ssize_t got = pread(fd_, out.data() + done, bytes - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      refuse_file(path_, fmt::format("cannot read at offset {}: {}", offset + done,
                                     got < 0 ? std::strerror(errno) : "the file shrank"));
    }
    done += uint64_t(got);
  }
  return out;
}

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts) {
  const std::string temporary = path + ".tmp";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  for (const std::string_view part : parts) out.write(part.data(), std::streamsize(part.size()));
  out.close();
  if (!out || std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    refuse_file(path, fmt::format("cannot write: {}", std::strerror(error)));
  }
}

}  // namespace rs::cache
