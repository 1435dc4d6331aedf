#pragma once
// Per-shard HTTP counters; the shard thread writes, /metrics reads all shards.
#include <array>
#include <span>

#include "core/base/metrics.h"

namespace rs::io {

struct HttpMetrics {
  std::array<metrics::Counter, 600> responses_by_status;  // index: status code
  metrics::Counter connections_accepted;
  metrics::Counter connections_rejected;  // over --max-connections: answered 503
  metrics::Gauge connections_open;
  metrics::Counter connections_stalled;   // closed: the socket took no output for --write-timeout, or under pressure
  metrics::Counter bytes_received;
  metrics::Counter bytes_sent;

  void count_response(int status) {
    if (status >= 100 && status < 600) responses_by_status[status].add();
  }
};

void render_http_metrics(std::span<const HttpMetrics* const> shards, metrics::Exposition& out);

}  // namespace rs::io
