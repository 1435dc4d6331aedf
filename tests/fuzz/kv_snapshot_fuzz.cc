// libFuzzer target: arbitrary bytes as a prefix-cache snapshot file (cache/kv_snapshot.h). A bad file must be a
// one-line std::runtime_error, never a crash, a hang, an out-of-bounds read or a huge allocation (run under
// ASan + UBSan); a file it accepts is exactly as long as its header says.
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "cache/kv_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rs::cache::KvSnapshot snapshot =
        rs::cache::parse_kv_snapshot(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.rkv");
    if (snapshot.header.file_bytes() != size || snapshot.blocks.size() != snapshot.header.blocks) __builtin_trap();
  } catch (const std::runtime_error&) {
    // The expected outcome for almost every input.
  }
  return 0;
}
