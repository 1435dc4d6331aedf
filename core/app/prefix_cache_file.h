#pragma once
// `serve --prefix-cache-file`: a KV snapshot (cache/kv_snapshot.h, written by `ringserve warm`) streamed into
// the KV pool before the server is ready, so that the first requests after a cold start already hit the prefix
// cache. The file is checked against this model and these flags first (model identity, KV type, block size and
// bytes, salt, every chain hash against its parent and tokens), and each block's KV bytes against their checksum
// before it is used: a file that does not match or is damaged is refused, and the server serves without it.
// Loaded blocks are ordinary cached blocks: evictable, least recently used first.
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "cache/kv_snapshot.h"
#include "core/app/kv_block_sink.h"
#include "core/app/model_engine.h"

namespace rs {

struct PrefixCacheLoad {
  uint32_t blocks = 0;          // loaded into the pool
  uint32_t already_cached = 0;  // their hash was cached already
  uint32_t no_room = 0;         // no free block for them or their parent
  uint32_t beyond_context = 0;  // they end past the context: no prompt reaches them
  uint64_t tokens = 0;          // of the loaded blocks
  uint64_t bytes = 0;           // of the file, streamed
  double stream_seconds = 0;
  double seconds = 0;           // checks and stream
  bool direct = false;          // read with O_DIRECT
};

// A snapshot opened before the model loads (`serve`): its header and records read, and the staging its KV section
// will stream through faulted in on a thread of its own while the weights stream, so that its load, once the model
// is up, waits on no page faults. A file that cannot be read keeps the reason, and its load refuses it with that.
class PreparedSnapshot {
 public:
  explicit PreparedSnapshot(std::string path);
  PreparedSnapshot(const PreparedSnapshot&) = delete;
  PreparedSnapshot& operator=(const PreparedSnapshot&) = delete;

  const std::string& path() const { return path_; }
  uint32_t blocks() const { return snapshot_ ? snapshot_->header.blocks : 0; }  // 0: it could not be read

 private:
  friend std::optional<PrefixCacheLoad> load_prefix_cache_file(ModelEngine& model, PreparedSnapshot& file);

  std::string path_;
  std::optional<cache::KvSnapshot> snapshot_;
  std::string unreadable_;  // why snapshot_ is empty
  std::optional<KvStaging> staging_;
  std::jthread fault_in_;  // last: joined before the staging goes
};

// Loads `file` into `model`'s KV pool on its engine thread and logs one line: what was loaded, or why the file
// was refused (naming the file and the field). Never throws; nullopt when refused. Blocks a damaged KV section
// stops at are not loaded; those before it, each checked, stay.
std::optional<PrefixCacheLoad> load_prefix_cache_file(ModelEngine& model, PreparedSnapshot& file);
// The same for a file not opened ahead: read and staged now.
std::optional<PrefixCacheLoad> load_prefix_cache_file(ModelEngine& model, const std::string& path);

}  // namespace rs
