#include "core/app/load_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "core/app/command.h"
#include "core/base/log.h"
#include "core/model/gguf_reader.h"
#include "gpu/device_load.h"
#include "io/host_memory_sink.h"

namespace rs {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSafetensorsExtension = ".safetensors";

void check_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  char magic[4] = {};
  in.read(magic, sizeof magic);
  if (std::string_view(magic, size_t(in.gcount())) != model::kGgufMagic) {
    throw std::runtime_error(fmt::format(
        "{}: not a GGUF file (it does not start with \"GGUF\") and not {}", path,
        kSafetensorsExtension));
  }
}

// The files MODEL names: itself (GGUF or safetensors), or a directory's shards in name order.
std::vector<std::string> model_files(const std::string& model) {
  if (!fs::is_directory(model)) {
    if (fs::path(model).extension() != kSafetensorsExtension) check_gguf_magic(model);
    return {model};
  }
  std::vector<std::string> shards;
  for (const fs::directory_entry& entry : fs::directory_iterator(model)) {
    if (entry.path().extension() == kSafetensorsExtension) shards.push_back(entry.path().string());
  }
  if (shards.empty()) {
    throw std::runtime_error(
        fmt::format("{}: no *{} files in this directory", model, kSafetensorsExtension));
  }
  std::sort(shards.begin(), shards.end());
  return shards;
}

}  // namespace

int load_command(const LoadOptions& options) {
  try {
    const std::vector<std::string> files = model_files(options.model);
    const io::StreamOptions stream{
        .chunk_bytes = options.chunk_bytes, .depth = options.depth, .direct = !options.buffered};
    const bool cuda = resolves_to_cuda(options.device);
    gpu::DeviceLoadResult result;
    if (cuda) {
      gpu::stream_to_device(files, 0, stream, result);  // freed before printing: `load` measures streaming only
    } else {
      io::HostMemorySink discarded;
      result.stream = io::stream_files(files, discarded, stream);
    }
    const double gbps = result.stream.seconds > 0 ? double(result.stream.bytes) / result.stream.seconds / 1e9 : 0;
    fmt::print("{{\"device\":\"{}\",\"bytes\":{},\"seconds\":{:.4f},\"gbps\":{:.3f},\"direct\":{},"
               "\"staging_bytes\":{}}}\n",
               cuda ? "cuda" : "cpu", result.stream.bytes, result.stream.seconds, gbps, result.stream.direct,
               result.staging_bytes);
    return 0;
  } catch (const std::exception& e) {
    log::error("load: {}", e.what());
    return 1;
  }
}

Command add_load_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "load", "Read a model's files the way serve does (io_uring, O_DIRECT; to a GPU through pinned staging "
              "buffers), discard them, and print {\"device\",\"bytes\",\"seconds\",\"gbps\",\"direct\","
              "\"staging_bytes\"} as one JSON line");
  auto options = std::make_shared<LoadOptions>();
  auto chunk_mib = std::make_shared<size_t>(options->chunk_bytes >> 20);
  command.add_option("model", options->model, "A .gguf file, a .safetensors file, or a model directory")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_flag("--buffered", options->buffered, "Read through the page cache instead of O_DIRECT");
  add_device_option(command, options->device, "Where the bytes go: cpu (host memory), cuda (device 0), or auto");
  command.add_option("--chunk-mib", *chunk_mib, "Size of each read, MiB")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command.add_option("--depth", options->depth, "Reads in flight")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  return {&command, [options, chunk_mib] {
            options->chunk_bytes = *chunk_mib << 20;
            return load_command(*options);
          }};
}

}  // namespace rs
