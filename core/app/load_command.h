#pragma once
// `ringserve load MODEL`: streams the model's files into host memory or a CUDA
// device's, discards them, and prints one JSON line with the throughput (for
// perf/load-bench.sh and perf/gpu-bench.sh).
#include <cstddef>
#include <string>

#include "core/app/device_choice.h"
#include "io/file_stream.h"

namespace rs {

struct LoadOptions {
  std::string model;  // a .gguf file, a .safetensors file, or a directory of *.safetensors shards
  Device device = Device::automatic;  // automatic: CUDA device 0 where one is visible
  bool buffered = false;  // read through the page cache instead of O_DIRECT
  size_t chunk_bytes = io::StreamOptions{}.chunk_bytes;
  unsigned depth = io::StreamOptions{}.depth;
};

// Prints {"device":"cpu"|"cuda","bytes":N,"seconds":S,"gbps":G,"direct":true|false,
// "staging_bytes":B} to stdout (staging: the pinned ring, 0 for cpu) and
// returns 0; on failure logs one error line naming the file and returns 1.
int load_command(const LoadOptions& options);

}  // namespace rs
