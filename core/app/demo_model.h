#pragma once
// The built-in demo model: the "tiny" synth preset with random weights, written
// to a temporary file, so `run` and `serve` work with no model file at all.
#include <string>

namespace rs {

// The demo model's GGUF in a fresh temporary directory, removed with the
// object: keep it until the model is loaded. Its general.name says that its
// weights are random.
class DemoModelFile {
 public:
  DemoModelFile();
  ~DemoModelFile();
  DemoModelFile(const DemoModelFile&) = delete;
  DemoModelFile& operator=(const DemoModelFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string directory_;
  std::string path_;
};

}  // namespace rs
