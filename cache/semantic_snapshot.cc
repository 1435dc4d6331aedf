#include "cache/semantic_snapshot.h"

#include <xxhash.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "cache/snapshot_file.h"

namespace rs::cache {
namespace {

constexpr std::string_view kSemanticSnapshotMagic = "RSSEMSNP";
// Per entry before its vector and text: three hashes, completion tokens, text bytes, finish reason.
constexpr uint64_t kEntryFixedBytes = 3 * 8 + 4 + 4 + 1;
// Finish reasons as stored: their index here.
constexpr std::string_view kFinishReasons[] = {"stop", "length"};

uint64_t entry_least_bytes(uint32_t dims) { return kEntryFixedBytes + 4 * uint64_t(dims); }

uint8_t finish_code(std::string_view finish_reason, const std::string& path, size_t entry) {
  for (uint8_t code = 0; code < std::size(kFinishReasons); ++code) {
    if (kFinishReasons[code] == finish_reason) return code;
  }
  throw std::invalid_argument(
      fmt::format("{}: entry {}: finish reason \"{}\" is neither stop nor length", path, entry, finish_reason));
}

void check_writable(const std::string& path, const SemanticSnapshotHeader& h, size_t entries) {
  if (h.dims == 0 || h.dims > kSemanticSnapshotMaxDims) {
    throw std::invalid_argument(fmt::format("{}: dims {} is out of range (1 to {})", path, h.dims,
                                            kSemanticSnapshotMaxDims));
  }
  if (h.model_id.size() > kSemanticSnapshotMaxModelIdBytes) {
    throw std::invalid_argument(fmt::format("{}: the model id's {} bytes are over the {}-byte limit", path,
                                            h.model_id.size(), kSemanticSnapshotMaxModelIdBytes));
  }
  if (entries > std::numeric_limits<uint32_t>::max()) {
    throw std::invalid_argument(fmt::format("{}: {} entries are more than a file holds", path, entries));
  }
}

// The header's fields and the model id, checked against what the file has left before its checksum.
SemanticSnapshotHeader parse_header(FieldReader& in, uint32_t& entries, std::string_view name) {
  if (in.get_bytes(kSemanticSnapshotMagic.size()) != kSemanticSnapshotMagic) refuse_file(name, "bad magic: not a ringserve semantic cache file");
  if (const auto version = in.get<uint32_t>(); version != kSemanticSnapshotVersion) {
    refuse_file(name, fmt::format("version {} is not supported (this build reads version {})", version,
                                  kSemanticSnapshotVersion));
  }
  SemanticSnapshotHeader h;
  h.dims = in.get<uint32_t>();
  h.model_identity = in.get<uint64_t>();
  h.embedding_identity = in.get<uint64_t>();
  entries = in.get<uint32_t>();
  const auto model_id_bytes = in.get<uint32_t>();
  if (h.dims == 0 || h.dims > kSemanticSnapshotMaxDims) {
    refuse_file(name, fmt::format("dims {} is out of range (1 to {})", h.dims, kSemanticSnapshotMaxDims));
  }
  if (model_id_bytes > kSemanticSnapshotMaxModelIdBytes) {
    refuse_file(name, fmt::format("model id length {} is over the {}-byte limit", model_id_bytes,
                                  kSemanticSnapshotMaxModelIdBytes));
  }
  if (model_id_bytes > in.remaining()) {
    refuse_file(name, fmt::format("truncated: a model id of {} bytes, but {} bytes are left before the checksum",
                                  model_id_bytes, in.remaining()));
  }
  h.model_id = in.get_bytes(model_id_bytes);
  const uint64_t least = entry_least_bytes(h.dims);
  if (uint64_t(entries) * least > in.remaining()) {  // before any allocation: a bad count must not allocate
    refuse_file(name, fmt::format("truncated or bad entry count: {} entries of at least {} bytes, but {} bytes are "
                                  "left before the checksum",
                                  entries, least, in.remaining()));
  }
  return h;
}

SemanticSnapshotEntry parse_entry(FieldReader& in, uint32_t dims, uint32_t index, std::string_view name) {
  if (in.remaining() < entry_least_bytes(dims)) {
    refuse_file(name, fmt::format("entry {}: truncated: it needs at least {} bytes, {} are left before the checksum",
                                  index, entry_least_bytes(dims), in.remaining()));
  }
  SemanticSnapshotEntry e;
  e.key.context = in.get<uint64_t>();
  e.key.exact = in.get<uint64_t>();
  e.key.guard = in.get<uint64_t>();
  e.answer.completion_tokens = in.get<uint32_t>();
  const auto text_bytes = in.get<uint32_t>();
  const auto finish = in.get<uint8_t>();
  if (finish >= std::size(kFinishReasons)) {
    refuse_file(name, fmt::format("entry {}: finish reason {} is neither 0 (stop) nor 1 (length)", index,
                                  unsigned(finish)));
  }
  e.answer.finish_reason = kFinishReasons[finish];
  e.vector.resize(dims);
  std::memcpy(e.vector.data(), in.get_bytes(4 * size_t(dims)).data(), 4 * size_t(dims));
  for (uint32_t d = 0; d < dims; ++d) {
    if (!std::isfinite(e.vector[d])) {
      refuse_file(name, fmt::format("entry {}: vector element {} is not finite", index, d));
    }
  }
  if (text_bytes > in.remaining()) {
    refuse_file(name, fmt::format("entry {}: truncated: a text of {} bytes, but {} bytes are left before the checksum",
                                  index, text_bytes, in.remaining()));
  }
  e.answer.text = in.get_bytes(text_bytes);
  return e;
}

}  // namespace

void write_semantic_snapshot(const std::string& path, const SemanticSnapshotHeader& header,
                             std::span<const SemanticSnapshotEntry> entries) {
  check_writable(path, header, entries.size());
  FieldWriter out;
  out.put_bytes(kSemanticSnapshotMagic);
  out.put(kSemanticSnapshotVersion);
  out.put(header.dims);
  out.put(header.model_identity);
  out.put(header.embedding_identity);
  out.put(uint32_t(entries.size()));
  out.put(uint32_t(header.model_id.size()));
  out.put_bytes(header.model_id);
  for (size_t i = 0; i < entries.size(); ++i) {
    const SemanticSnapshotEntry& e = entries[i];
    if (e.vector.size() != header.dims) {
      throw std::invalid_argument(fmt::format("{}: entry {} has a vector of {} floats, not {}", path, i,
                                              e.vector.size(), header.dims));
    }
    if (!std::all_of(e.vector.begin(), e.vector.end(), [](float x) { return std::isfinite(x); })) {
      throw std::invalid_argument(fmt::format("{}: entry {} has a vector element that is not finite", path, i));
    }
    if (e.answer.text.size() > std::numeric_limits<uint32_t>::max()) {
      throw std::invalid_argument(fmt::format("{}: entry {}'s text of {} bytes is over 4 GiB", path, i,
                                              e.answer.text.size()));
    }
    out.put(e.key.context);
    out.put(e.key.exact);
    out.put(e.key.guard);
    out.put(e.answer.completion_tokens);
    out.put(uint32_t(e.answer.text.size()));
    out.put(finish_code(e.answer.finish_reason, path, i));
    out.put_bytes(std::string_view(reinterpret_cast<const char*>(e.vector.data()), 4 * e.vector.size()));
    out.put_bytes(e.answer.text);
  }
  out.put(XXH3_64bits(out.bytes().data(), out.bytes().size()));
  write_file_atomically(path, {out.bytes()});
}

SemanticSnapshot read_semantic_snapshot(const std::string& path) {
  const ReadOnlyFile file(path);
  return parse_semantic_snapshot(file.read(0, file.size()), path);
}

SemanticSnapshot parse_semantic_snapshot(std::span<const std::byte> file, std::string_view name) {
  if (file.size() < kSemanticSnapshotHeaderBytes + kSemanticSnapshotChecksumBytes) {
    refuse_file(name, fmt::format("truncated: {} bytes, shorter than the {}-byte header and {}-byte checksum",
                                  file.size(), kSemanticSnapshotHeaderBytes, kSemanticSnapshotChecksumBytes));
  }
  const std::span<const std::byte> body = file.first(file.size() - kSemanticSnapshotChecksumBytes);
  FieldReader in(body);
  SemanticSnapshot snapshot;
  uint32_t entries = 0;
  snapshot.header = parse_header(in, entries, name);
  snapshot.entries.reserve(entries);
  for (uint32_t i = 0; i < entries; ++i) snapshot.entries.push_back(parse_entry(in, snapshot.header.dims, i, name));
  if (in.remaining() != 0) {
    refuse_file(name, fmt::format("{} bytes are left over after the {} entries of the entry count, before the "
                                  "checksum",
                                  in.remaining(), entries));
  }
  uint64_t stored = 0;
  std::memcpy(&stored, file.data() + body.size(), sizeof stored);
  if (const uint64_t computed = XXH3_64bits(body.data(), body.size()); computed != stored) {
    refuse_file(name, fmt::format("checksum {:#x} is not the {:#x} of the file's bytes: the file is damaged", stored,
                                  computed));
  }
  return snapshot;
}

}  // namespace rs::cache
