#pragma once
// What the engine thread measures, for /metrics: the signals Cloud Run and GKE
// autoscale on (queue depth, running requests, KV cache usage, batch size) and
// the latencies users feel. The engine thread writes, /metrics reads.
#include "core/base/metrics.h"

namespace rs::engine {

struct EngineMetrics {
  metrics::Histogram time_to_first_token;  // arrival to first token
  metrics::Histogram time_per_output_token;  // between one token and the next of a request
  metrics::Histogram e2e_latency;          // arrival to last token
  metrics::Histogram queue_wait;           // arrival to first scheduled
  metrics::Histogram step_time;            // one batched step: schedule, forward pass, sampling
  metrics::Counter prompt_tokens;
  metrics::Counter generation_tokens;
  metrics::Counter preemptions;
  metrics::Counter steps;
  metrics::Gauge requests_waiting;  // API requests none of whose sequences runs yet
  metrics::Gauge requests_running;  // API requests with a sequence running
  metrics::Gauge sequences_waiting;
  metrics::Gauge sequences_running;
  metrics::Counter prefix_cache_queries;  // prompt tokens looked up in the prefix cache
  metrics::Counter prefix_cache_hits;     // of those, tokens found
  metrics::Gauge prefix_cache_evictions;  // a running total the engine thread copies from the KV cache manager
  metrics::Gauge prefix_cache_blocks;     // blocks cached (held or evictable)
  metrics::Gauge kv_blocks_used;
  metrics::Gauge kv_blocks_total;
  metrics::Gauge batch_sequences;  // of the last step
  metrics::Gauge batch_tokens;

  void render(metrics::Exposition& out) const;
};

}  // namespace rs::engine
