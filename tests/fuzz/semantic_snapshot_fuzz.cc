// libFuzzer target: arbitrary bytes as a semantic cache file (cache/semantic_snapshot.h). A bad file must be a
// one-line std::runtime_error, never a crash, a hang, an out-of-bounds read or a huge allocation (run under
// ASan + UBSan); a file it accepts has as many vectors of dims floats as entries.
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "cache/semantic_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rs::cache::SemanticSnapshot snapshot =
        rs::cache::parse_semantic_snapshot(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.rsc");
    for (const rs::cache::SemanticSnapshotEntry& e : snapshot.entries) {
      if (e.vector.size() != snapshot.header.dims) __builtin_trap();
    }
  } catch (const std::runtime_error&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
