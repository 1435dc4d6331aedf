#pragma once
// Streams whole model files into memory with io_uring: O_DIRECT reads of
// aligned chunks, several in flight across all files, each chunk handed to a
// sink as soon as it lands while later reads proceed. Where io_uring is refused
// (a seccomp profile), the same reads are made one at a time with pread.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rs::io {

// O_DIRECT needs file offsets, lengths and buffer addresses in multiples of this.
inline constexpr size_t kDirectAlignment = 4096;

// `bytes` bytes at `offset` of file number `file` (an index into stream_files' paths).
struct FileRange {
  uint32_t file = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

// Where streamed bytes go: the final host buffers for the CPU executor, or
// pinned staging slots copied to the device for CUDA. All calls come from the
// thread running stream_files().
class StreamSink {
 public:
  virtual ~StreamSink() = default;

  // File `file` is open and `size` bytes long; called once per file, before any of its ranges.
  virtual void opened([[maybe_unused]] uint32_t file, [[maybe_unused]] uint64_t size) {}

  // Memory for `range`: kDirectAlignment-aligned and at least range.bytes rounded
  // up to kDirectAlignment long (the last read of a file covers its whole last
  // block). Empty: nothing free now (bounded staging); asked again after a landed().
  virtual std::span<std::byte> destination(const FileRange& range) = 0;

  // `range` has arrived: `bytes` (range.bytes long) is the start of the memory
  // destination() gave for it, which is the sink's again. Per file, ranges land
  // in file order, each byte exactly once.
  virtual void landed(const FileRange& range, std::span<const std::byte> bytes) = 0;
};

struct StreamOptions {
  size_t chunk_bytes = 16 << 20;  // bytes per read: a multiple of kDirectAlignment, at most 1 GiB
  unsigned depth = 8;             // reads in flight across all files, 1 to 4096
  bool direct = true;             // O_DIRECT where the filesystem allows it; false: the page cache
  bool io_uring = true;           // where permitted; false: pread, one read at a time
};

struct StreamResult {
  uint64_t bytes = 0;
  double seconds = 0;
  bool direct = false;  // every file was read with O_DIRECT
};

// Reads every file whole, sequentially in chunk_bytes pieces, into `sink`; the
// `depth` reads in flight go round-robin over the files so shards are read in
// parallel. Logs progress about once a second for long loads, and one line at
// the end. A filesystem that refuses O_DIRECT (or only emulates it, as tmpfs
// does) is read through the page cache, with one warning per call.
// Throws std::runtime_error naming the file (and offset) on I/O errors,
// std::invalid_argument on bad options, std::logic_error on a sink breaking its contract.
StreamResult stream_files(const std::vector<std::string>& paths, StreamSink& sink,
                          const StreamOptions& options);

}  // namespace rs::io
