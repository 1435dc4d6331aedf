// libFuzzer target: a Hugging Face config.json (core/model/hf_config.h) and the safetensors model directory reader
// that acts on it. The input up to its first NUL byte is config.json, parsed alone; when bytes follow the NUL they
// are model.safetensors, and both files are read as a model directory (read_safetensors_model, in a scratch
// directory of this process: scratch_directory.h). A bad file must be a ModelError; a crash (ASan + UBSan), a hang or a
// huge allocation fails. A model the reader accepts has as many layers as its config, and every tensor inside its file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/model/hf_config.h"
#include "core/model/model_error.h"
#include "core/model/safetensors_reader.h"
#include "tests/fuzz/scratch_directory.h"

namespace {

using namespace rs::model;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rs::fuzz::ScratchDirectory scratch("hf_config_fuzz");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view config = input.substr(0, split);
  uint32_t layers = 0;
  try {
    layers = parse_hf_config(config, "config.json").n_layers;
  } catch (const ModelError&) {
    // The expected outcome for most inputs.
  }
  if (split == std::string_view::npos) return 0;

  const std::string_view safetensors = input.substr(split + 1);
  scratch.write("config.json", config);
  scratch.write("model.safetensors", safetensors);
  try {
    const ModelDesc desc = read_safetensors_model(scratch.path().string());
    check(desc.n_layers == layers);
    for (const TensorInfo& t : desc.tensors) {
      check(t.offset <= safetensors.size() && t.bytes <= safetensors.size() - t.offset);
    }
  } catch (const ModelError&) {
  }
  return 0;
}
