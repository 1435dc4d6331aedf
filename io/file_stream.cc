#include "io/file_stream.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "core/base/log.h"
#include "io/io_uring_probe.h"

namespace rs::io {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxChunkBytes = size_t(1) << 30;  // a read's length is 32 bits in the SQE
constexpr unsigned kMaxDepth = 4096;
constexpr auto kProgressInterval = std::chrono::seconds(1);

uint64_t round_up(uint64_t n) {
  return (n + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
}
uint64_t round_down(uint64_t n) { return n / kDirectAlignment * kDirectAlignment; }
double gigabytes(uint64_t bytes) { return double(bytes) / 1e9; }
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "217.1 kB", "1.95 GB": a final log line that reads right for any model size.
std::string human_bytes(uint64_t bytes) {
  if (bytes >= 1'000'000'000) return fmt::format("{:.2f} GB", gigabytes(bytes));
  if (bytes >= 1'000'000) return fmt::format("{:.1f} MB", double(bytes) / 1e6);
  return fmt::format("{:.1f} kB", double(bytes) / 1e3);
}

std::string human_seconds(double seconds) {
  return seconds >= 1 ? fmt::format("{:.2f} s", seconds) : fmt::format("{:.1f} ms", seconds * 1e3);
}

// O_DIRECT is switched with fcntl rather than chosen at open(), so a filesystem
// refusing it up front and one refusing it at the first read are handled alike.
bool set_direct(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) == 0;
}

// tmpfs accepts O_DIRECT (Linux 6.6+) but serves it from the page cache: that is not direct I/O.
bool on_tmpfs(int fd) {
  struct statfs filesystem{};
  return fstatfs(fd, &filesystem) == 0 && filesystem.f_type == TMPFS_MAGIC;
}

// A file being streamed: how far it has been asked of the sink, read, and handed back.
struct StreamedFile {
  std::string path;
  uint32_t index = 0;
  int fd = -1;
  uint64_t size = 0;
  uint64_t next_offset = 0;    // start of the next chunk to read
  uint64_t landed_offset = 0;  // [0, landed_offset) has been handed to the sink
  bool direct = false;
  bool direct_read_ok = false;  // an O_DIRECT read succeeded, so EINVAL no longer means "refused"
};

// One chunk, re-read from where a short read stopped until it is whole.
struct ChunkRead {
  enum class State { idle, reading, arrived };
  State state = State::idle;
  FileRange range;
  std::byte* memory = nullptr;
  uint64_t done = 0;    // [0, done) of the chunk is in memory
  bool direct = false;  // the pending read was issued with O_DIRECT
};

// "loading: 42% (3.1 / 7.4 GB, 2.9 GB/s)" about once a second, from the first second on.
class ProgressLog {
 public:
  ProgressLog(uint64_t total, Clock::time_point start)
      : total_(total), start_(start), next_report_(start + kProgressInterval) {}

  void update(uint64_t landed) {
    const auto now = Clock::now();
    if (now < next_report_ || landed == total_) return;  // the end has a line of its own
    next_report_ = now + kProgressInterval;
    log::info("loading: {}% ({:.1f} / {:.1f} GB, {:.2f} GB/s)", landed * 100 / total_,
              gigabytes(landed), gigabytes(total_), gigabytes(landed) / seconds_since(start_));
  }

 private:
  const uint64_t total_;
  const Clock::time_point start_;
  Clock::time_point next_report_;
};

// One call of stream_files: its files, its ring and the reads in flight.
class FileStreamer {
 public:
  FileStreamer(StreamSink& sink, const StreamOptions& options) : sink_(sink), options_(options) {}
  ~FileStreamer();
  FileStreamer(const FileStreamer&) = delete;
  FileStreamer& operator=(const FileStreamer&) = delete;

  StreamResult run(const std::vector<std::string>& paths);

 private:
  void open_file(const std::string& path);
  void use_page_cache(StreamedFile& file);
  void setup_ring();
  void issue_reads();
  StreamedFile* next_file_to_read();
  void submit(ChunkRead& read);
  void reap();
  void read_now(ChunkRead& read, const StreamedFile& file);
  void on_completion(ChunkRead& read, int result);
  void land_in_order(StreamedFile& file);

  StreamSink& sink_;
  const StreamOptions options_;
  std::vector<StreamedFile> files_;
  std::vector<ChunkRead> reads_;  // one per read in flight; never resized once reads are pending
  io_uring ring_{};
  bool ring_ready_ = false;                       // false: reads are made at once with pread
  std::vector<std::pair<ChunkRead*, int>> done_;  // pread results not yet reaped
  unsigned in_kernel_ = 0;  // reads prepared, submitted or made whose completion has not been seen
  size_t next_file_ = 0;    // round-robin cursor over files_
  uint64_t landed_bytes_ = 0;
  bool warned_page_cache_ = false;
};

FileStreamer::~FileStreamer() {
  if (ring_ready_) {
    // After an error the kernel may still be writing into the sink's memory:
    // every read must finish before the caller can free it.
    while (in_kernel_ > 0) {
      const int err = io_uring_submit_and_wait(&ring_, 1);
      if (err < 0 && err != -EINTR) break;
      io_uring_cqe* cqe;
      while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
        io_uring_cqe_seen(&ring_, cqe);
        --in_kernel_;
      }
    }
    io_uring_queue_exit(&ring_);
  }
  for (const StreamedFile& file : files_) {
    if (file.fd >= 0) close(file.fd);
  }
}

StreamResult FileStreamer::run(const std::vector<std::string>& paths) {
  if (options_.chunk_bytes == 0 || options_.chunk_bytes % kDirectAlignment != 0 ||
      options_.chunk_bytes > kMaxChunkBytes) {
    throw std::invalid_argument(fmt::format("chunk size {} is not a multiple of {} up to {}",
                                            options_.chunk_bytes, kDirectAlignment,
                                            kMaxChunkBytes));
  }
  if (options_.depth == 0 || options_.depth > kMaxDepth) {
    throw std::invalid_argument(
        fmt::format("read depth {} is not within 1..{}", options_.depth, kMaxDepth));
  }
  const auto start = Clock::now();
  files_.reserve(paths.size());
  for (const std::string& path : paths) open_file(path);
  uint64_t total_bytes = 0;
  for (const StreamedFile& file : files_) total_bytes += file.size;
  setup_ring();
  reads_.resize(options_.depth);

  ProgressLog progress(total_bytes, start);
  while (landed_bytes_ < total_bytes) {
    issue_reads();
    if (in_kernel_ == 0) {
      throw std::logic_error("the stream sink gave no destination while no read was pending");
    }
    if (ring_ready_) {
      const int err = io_uring_submit_and_wait(&ring_, 1);
      if (err < 0 && err != -EINTR) {
        throw std::runtime_error(fmt::format("io_uring_submit_and_wait: {}", std::strerror(-err)));
      }
    }
    reap();
    progress.update(landed_bytes_);
  }

  StreamResult result;
  result.bytes = total_bytes;
  result.seconds = seconds_since(start);
  result.direct =
      options_.direct && std::all_of(files_.begin(), files_.end(),
                                     [](const StreamedFile& file) { return file.direct; });
  log::info("loaded {} in {} ({:.2f} GB/s, {})", human_bytes(result.bytes), human_seconds(result.seconds),
            result.seconds > 0 ? gigabytes(result.bytes) / result.seconds : 0.0,
            result.direct ? "O_DIRECT" : "page cache");
  return result;
}

void FileStreamer::open_file(const std::string& path) {
  StreamedFile& file = files_.emplace_back();
  file.path = path;
  file.index = uint32_t(files_.size() - 1);
  file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) {
    throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  struct stat status{};
  if (fstat(file.fd, &status) != 0) {
    throw std::runtime_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(status.st_mode)) {
    throw std::runtime_error(fmt::format("{}: not a regular file", path));
  }
  file.size = uint64_t(status.st_size);

  if (options_.direct) {
    if (on_tmpfs(file.fd)) {
      use_page_cache(file);
    } else if (set_direct(file.fd, true)) {
      file.direct = true;
    } else if (errno == EINVAL) {
      use_page_cache(file);
    } else {
      throw std::runtime_error(
          fmt::format("{}: cannot turn on O_DIRECT: {}", path, std::strerror(errno)));
    }
  }
  sink_.opened(file.index, file.size);
}

void FileStreamer::use_page_cache(StreamedFile& file) {
  if (file.direct) {
    if (!set_direct(file.fd, false)) {
      throw std::runtime_error(
          fmt::format("{}: cannot turn off O_DIRECT: {}", file.path, std::strerror(errno)));
    }
    file.direct = false;
  }
  if (!warned_page_cache_) {
    warned_page_cache_ = true;
    log::warn("{}: O_DIRECT refused by the filesystem (tmpfs?); reading through the page cache",
              file.path);
  }
}

void FileStreamer::setup_ring() {
  if (!options_.io_uring || !io_uring_permitted()) return;
  const int err = io_uring_queue_init(options_.depth, &ring_, 0);
  if (err < 0) {
    throw std::runtime_error(
        fmt::format("io_uring_queue_init: {} (is io_uring disabled, e.g. by "
                    "a seccomp profile or kernel.io_uring_disabled?)",
                    std::strerror(-err)));
  }
  ring_ready_ = true;
}

// Starts a read in every idle slot, as long as there are chunks left and the sink has memory.
void FileStreamer::issue_reads() {
  for (ChunkRead& read : reads_) {
    if (read.state != ChunkRead::State::idle) continue;
    StreamedFile* file = next_file_to_read();
    if (file == nullptr) return;
    const FileRange range{file->index, file->next_offset,
                          std::min<uint64_t>(options_.chunk_bytes, file->size - file->next_offset)};
    const std::span<std::byte> memory = sink_.destination(range);
    if (memory.empty()) return;  // bounded staging: a landed() frees a slot
    if (memory.size() < round_up(range.bytes) ||
        reinterpret_cast<uintptr_t>(memory.data()) % kDirectAlignment != 0) {
      throw std::logic_error(
          fmt::format("{}: the stream sink gave {} bytes at {} for {} bytes at offset {}; it must "
                      "give {}-aligned "
                      "memory of {} bytes",
                      file->path, memory.size(), static_cast<const void*>(memory.data()),
                      range.bytes, range.offset, kDirectAlignment, round_up(range.bytes)));
    }
    file->next_offset += range.bytes;
    read = ChunkRead{ChunkRead::State::reading, range, memory.data()};
    submit(read);
  }
}

StreamedFile* FileStreamer::next_file_to_read() {
  for (size_t tried = 0; tried < files_.size(); ++tried) {
    StreamedFile& file = files_[next_file_];
    next_file_ = (next_file_ + 1) % files_.size();
    if (file.next_offset < file.size) return &file;
  }
  return nullptr;
}

void FileStreamer::submit(ChunkRead& read) {
  const StreamedFile& file = files_[read.range.file];
  read.direct = file.direct;
  // O_DIRECT resumes on a block boundary; reading the start of that block again is harmless.
  if (read.direct) read.done = round_down(read.done);
  if (!ring_ready_) {
    read_now(read, file);
    return;
  }
  // Never null: each slot has at most one read pending and the ring has an entry per slot.
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  io_uring_prep_read(sqe, file.fd, read.memory + read.done,
                     unsigned(round_up(read.range.bytes) - read.done),
                     read.range.offset + read.done);
  io_uring_sqe_set_data(sqe, &read);
  // Issue from io-wq workers: faulting in a fresh image's pages (and, buffered, the copy) then runs
  // beside this loop instead of stalling the next submission; measured 2-4x faster on a 2-core VM.
  sqe->flags |= IOSQE_ASYNC;
  ++in_kernel_;
}

void FileStreamer::read_now(ChunkRead& read, const StreamedFile& file) {
  const ssize_t n = pread(file.fd, read.memory + read.done, round_up(read.range.bytes) - read.done,
                          off_t(read.range.offset + read.done));
  done_.emplace_back(&read, n < 0 ? -errno : int(n));
  ++in_kernel_;
}

void FileStreamer::reap() {
  while (!done_.empty()) {  // on_completion may read again, adding to done_
    const auto [read, result] = done_.back();
    done_.pop_back();
    --in_kernel_;
    on_completion(*read, result);
  }
  if (!ring_ready_) return;
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    ChunkRead& read = *static_cast<ChunkRead*>(io_uring_cqe_get_data(cqe));
    const int result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);  // first: on_completion may throw
    --in_kernel_;
    on_completion(read, result);
  }
}

void FileStreamer::on_completion(ChunkRead& read, int result) {
  StreamedFile& file = files_[read.range.file];
  if (result == -EINTR || result == -EAGAIN) {
    submit(read);
    return;
  }
  // Some FUSE mounts refuse O_DIRECT only at the first read; reads issued before the switch fail
  // alike.
  if (result == -EINVAL && read.direct && !(file.direct && file.direct_read_ok)) {
    use_page_cache(file);
    submit(read);
    return;
  }
  const uint64_t offset = read.range.offset + read.done;
  if (result < 0) {
    throw std::runtime_error(
        fmt::format("{}: read at offset {} failed: {}", file.path, offset, std::strerror(-result)));
  }
  if (result == 0) {
    throw std::runtime_error(
        fmt::format("{}: ends at offset {}, but was {} bytes when opened (changed while loading?)",
                    file.path, offset, file.size));
  }
  if (read.direct) file.direct_read_ok = true;
  read.done += uint64_t(result);
  if (read.done < read.range.bytes) {
    submit(read);  // a short read: the kernel may stop anywhere, not only at the end of the file
    return;
  }
  read.state = ChunkRead::State::arrived;
  land_in_order(file);
}

// Hands the sink every arrived chunk that continues the file from where it has landed so far.
void FileStreamer::land_in_order(StreamedFile& file) {
  for (;;) {
    const auto next = std::find_if(reads_.begin(), reads_.end(), [&](const ChunkRead& read) {
      return read.state == ChunkRead::State::arrived && read.range.file == file.index &&
             read.range.offset == file.landed_offset;
    });
    if (next == reads_.end()) return;
    next->state = ChunkRead::State::idle;
    file.landed_offset += next->range.bytes;
    landed_bytes_ += next->range.bytes;
    sink_.landed(next->range, {next->memory, next->range.bytes});
  }
}

}  // namespace

StreamResult stream_files(const std::vector<std::string>& paths, StreamSink& sink,
                          const StreamOptions& options) {
  FileStreamer streamer(sink, options);
  return streamer.run(paths);
}

}  // namespace rs::io
