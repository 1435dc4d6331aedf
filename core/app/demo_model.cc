#include "core/app/demo_model.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/model/synth.h"

namespace rs {

DemoModelFile::DemoModelFile() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ringserve-demo-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(fmt::format("demo model: cannot create a directory like {}: {} (set TMPDIR)", pattern,
                                         std::strerror(errno)));
  }
  directory_ = pattern;
  path_ = directory_ + "/demo.gguf";
  model::synth_model({.preset = "tiny", .type = model::TensorType::f32, .seed = 0, .vocab_from = "", .output = path_});
}

DemoModelFile::~DemoModelFile() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

}  // namespace rs
