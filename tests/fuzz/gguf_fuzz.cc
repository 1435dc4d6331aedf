// libFuzzer target: arbitrary bytes as a GGUF file. A bad file must be a
// ModelError, never a crash, a hang or a huge allocation (run under ASan + UBSan).
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rs::model;
  try {
    const GgufFile gguf = parse_gguf(std::span(data, size), "fuzz.gguf");
    describe_gguf(gguf, "fuzz.gguf");
  } catch (const ModelError&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
