#pragma once
// `ringserve load MODEL`: streams the model's files into host memory, discards
// them, and prints one JSON line with the throughput (for perf/load-bench.sh).
#include <cstddef>
#include <string>

#include "io/file_stream.h"

namespace rs {

struct LoadOptions {
  std::string model;  // a .gguf file, a .safetensors file, or a directory of *.safetensors shards
  bool buffered = false;  // read through the page cache instead of O_DIRECT
  size_t chunk_bytes = io::StreamOptions{}.chunk_bytes;
  unsigned depth = io::StreamOptions{}.depth;
};

// Prints {"bytes":N,"seconds":S,"gbps":G,"direct":true|false} to stdout and
// returns 0; on failure logs one error line naming the file and returns 1.
int load_command(const LoadOptions& options);

}  // namespace rs
