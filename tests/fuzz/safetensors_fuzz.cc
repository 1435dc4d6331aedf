// libFuzzer target: arbitrary bytes as a safetensors file. Every input either
// parses into a header whose tensors lie, disjoint, inside the file, or throws
// ModelError; nothing crashes (run under ASan + UBSan).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/model/model_error.h"
#include "core/model/safetensors_reader.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rs::model;
  try {
    const SafetensorsHeader header = parse_safetensors_header(std::span(data, size), "fuzz.safetensors");
    uint64_t previous_end = 0;
    for (const SafetensorsTensor& t : header.tensors) {
      check(t.begin <= t.end && t.end <= size - header.data_start);
      check(t.begin >= previous_end);
      previous_end = t.end;
    }
  } catch (const ModelError&) {
  }
  return 0;
}
