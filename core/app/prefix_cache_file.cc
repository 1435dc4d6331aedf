#include "core/app/prefix_cache_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cache/kv_snapshot.h"
#include "core/app/kv_block_sink.h"
#include "core/base/log.h"
#include "core/kv/block_hash.h"

namespace rs {
namespace {

using Clock = std::chrono::steady_clock;

// Smaller reads than a model's: the blocks of the last one are put in after the disk is done (measured: 4 MiB × 8
// streams at dd's O_DIRECT rate on the dev VM, 16 MiB × 4 at about 0.8 of it).
constexpr size_t kMaxChunkBytes = 4 << 20;
constexpr unsigned kReadsInFlight = 8;
constexpr size_t kPreparedBlocksAtOnce = 64;  // between checks that the stream still wants them

[[noreturn]] void refuse(const std::string& path, std::string_view reason) {
  throw std::runtime_error(fmt::format("{}: {}", path, reason));
}

// KV from another model, KV type or block layout, or hashed another way, must never be served.
void check_matches(const cache::KvSnapshotHeader& h, const ModelEngine& model, const std::string& path) {
  const kv::KvLayout& kv = model.kv_layout();
  if (h.model_identity != model.model_identity()) {
    refuse(path, fmt::format("model identity {:#x} is another model's (this server's: {:#x})", h.model_identity,
                             model.model_identity()));
  }
  if (h.kv_type != uint32_t(kv.type)) {
    refuse(path, fmt::format("KV type {} is not this server's --kv-type {}", model::ggml_type_name(h.kv_type),
                             model::ggml_type_name(uint32_t(kv.type))));
  }
  if (h.block_tokens != kv.block_tokens) {
    refuse(path, fmt::format("block size {} tokens is not this server's {}", h.block_tokens, kv.block_tokens));
  }
  if (h.block_bytes != kv.block_bytes()) {
    refuse(path, fmt::format("block bytes {} are not this server's {}", h.block_bytes, kv.block_bytes()));
  }
  if (h.salt != model.kv_salt()) {
    refuse(path, fmt::format("salt {:#x} is not this server's {:#x} (hashed by another ringserve version?)", h.salt,
                             model.kv_salt()));
  }
}

void check_chain_hashes(const cache::KvSnapshot& snapshot, const std::string& path) {
  for (size_t i = 0; i < snapshot.blocks.size(); ++i) {
    const cache::KvSnapshotBlock& b = snapshot.blocks[i];
    if (kv::block_hash(b.parent, b.tokens) != b.hash) {
      refuse(path, fmt::format("block {}: chain hash {:#x} does not match its parent and token ids", i, b.hash));
    }
  }
}

// Puts each streamed block into the pool, on the engine thread: a free block adopted under its hash, its KV
// written. A block no prompt can reach (beyond the context, or its parent not loaded) is passed over.
class BlockAdopter {
 public:
  BlockAdopter(const cache::KvSnapshot& snapshot, const std::string& path, uint32_t ctx_size,
               engine::Scheduler& scheduler, PrefixCacheLoad& load)
      : snapshot_(snapshot), path_(path), ctx_size_(ctx_size), scheduler_(scheduler), load_(load) {}

  void adopt(uint32_t index, std::span<const std::byte> kv) {
    const cache::KvSnapshotBlock& b = snapshot_.blocks[index];
    if (cache::kv_block_checksum(kv) != b.kv_checksum) {
      refuse(path_, fmt::format("block {}: KV bytes do not match their checksum", index));
    }
    kv::KvCacheManager& cache = scheduler_.kv_cache();
    // A prompt leaves room for one token and always computes its last: its cached blocks end 2 short of the context.
    if (uint64_t(b.depth + 1) * snapshot_.header.block_tokens + 2 > ctx_size_) {
      ++load_.beyond_context;
    } else if (cache.index().find(b.hash)) {
      ++load_.already_cached;
    } else if (no_room_.contains(b.parent)) {
      leave_out(b);
    } else if (const std::optional<kv::BlockId> block = cache.adopt(b.hash)) {
      scheduler_.executor().write_kv_block(*block, kv);
      ++load_.blocks;
      load_.tokens += snapshot_.header.block_tokens;
    } else {
      leave_out(b);
    }
  }

 private:
  void leave_out(const cache::KvSnapshotBlock& b) {
    no_room_.insert(b.hash);
    ++load_.no_room;
  }

  const cache::KvSnapshot& snapshot_;
  const std::string& path_;
  uint32_t ctx_size_;
  engine::Scheduler& scheduler_;
  PrefixCacheLoad& load_;
  std::unordered_set<uint64_t> no_room_;  // blocks left out for want of a free block: their children are too
};

io::StreamOptions stream_options(const cache::KvSnapshotHeader& header) {
  const uint64_t file_bytes = header.file_bytes();
  const size_t chunk = std::min<uint64_t>(kMaxChunkBytes, (file_bytes + io::kDirectAlignment - 1) /
                                                              io::kDirectAlignment * io::kDirectAlignment);
  return {.chunk_bytes = chunk, .depth = kReadsInFlight};
}

// Streams the file (O_DIRECT) into the pool through `staging`; on the engine thread, between steps.
void stream_into_pool(const cache::KvSnapshot& snapshot, KvStaging& staging, const std::string& path,
                      uint32_t ctx_size, engine::Scheduler& scheduler, PrefixCacheLoad& load) {
  const io::StreamOptions options = stream_options(snapshot.header);
  BlockAdopter adopter(snapshot, path, ctx_size, scheduler, load);
  // Beside the stream, so the copies into the pool do not wait on its pages being faulted in one by one.
  const std::vector<kv::BlockId> destinations = scheduler.kv_cache().next_adopted(snapshot.header.blocks);
  const std::jthread prepare([&](const std::stop_token& stop) {
    const std::span<const kv::BlockId> all(destinations);
    for (size_t i = 0; i < all.size() && !stop.stop_requested(); i += kPreparedBlocksAtOnce) {
      scheduler.executor().prepare_kv_writes(all.subspan(i, std::min(kPreparedBlocksAtOnce, all.size() - i)));
    }
  });
  KvBlockSink sink(snapshot.header, staging,
                   [&adopter](uint32_t index, std::span<const std::byte> kv) { adopter.adopt(index, kv); });
  const io::StreamResult result = io::stream_files({path}, sink, options);
  if (sink.blocks_handed() != snapshot.header.blocks) refuse(path, "file size changed while it was loaded");
  load.bytes = result.bytes;
  load.stream_seconds = result.seconds;
  load.direct = result.direct;
}

void log_loaded(const std::string& path, const PrefixCacheLoad& load) {
  std::string skipped;
  if (load.already_cached) skipped += fmt::format(", {} already cached", load.already_cached);
  if (load.no_room) skipped += fmt::format(", {} with no free block in the KV cache", load.no_room);
  if (load.beyond_context) skipped += fmt::format(", {} beyond --ctx-size", load.beyond_context);
  log::info("prefix cache file {}: {} blocks ({} tokens) loaded in {:.1f} ms ({:.2f} GB/s, {}){}", path, load.blocks,
            load.tokens, load.seconds * 1e3,
            load.stream_seconds > 0 ? double(load.bytes) / load.stream_seconds / 1e9 : 0.0,
            load.direct ? "O_DIRECT" : "page cache", skipped.empty() ? "" : "; skipped" + skipped);
}

}  // namespace

PreparedSnapshot::PreparedSnapshot(std::string path) : path_(std::move(path)) {
  try {
    snapshot_ = cache::read_kv_snapshot(path_);
    staging_.emplace(stream_options(snapshot_->header));
  } catch (const std::exception& e) {
    snapshot_.reset();
    unreadable_ = e.what();
    return;
  }
  fault_in_ = std::jthread([this] { staging_->fault_in(); });
}

std::optional<PrefixCacheLoad> load_prefix_cache_file(ModelEngine& model, PreparedSnapshot& file) {
  const auto start = Clock::now();
  PrefixCacheLoad load;
  try {
    if (!file.snapshot_) throw std::runtime_error(file.unreadable_);
    const cache::KvSnapshot& snapshot = *file.snapshot_;
    check_matches(snapshot.header, model, file.path_);
    check_chain_hashes(snapshot, file.path_);
    if (file.fault_in_.joinable()) file.fault_in_.join();
    model.engine().between_steps([&](engine::Scheduler& scheduler) {
      stream_into_pool(snapshot, *file.staging_, file.path_, model.ctx_size(), scheduler, load);
    });
  } catch (const std::exception& e) {
    log::warn("prefix cache file refused: {}; serving without it{}", e.what(),
              load.blocks ? fmt::format(" (the {} blocks before it, each checked, stay)", load.blocks) : "");
    return std::nullopt;
  }
  load.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  log_loaded(file.path_, load);
  return load;
}

std::optional<PrefixCacheLoad> load_prefix_cache_file(ModelEngine& model, const std::string& path) {
  PreparedSnapshot file(path);
  return load_prefix_cache_file(model, file);
}

}  // namespace rs
