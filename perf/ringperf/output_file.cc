#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "perf/ringperf/outputs.h"

namespace rs::ringperf {

OutputFile::OutputFile(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
  if (file_ == nullptr) throw std::runtime_error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void OutputFile::write(const std::string& contents) {
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file_) == contents.size();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!written || !closed) throw std::runtime_error(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
}

}  // namespace rs::ringperf
