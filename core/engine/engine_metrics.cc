#include "core/engine/engine_metrics.h"

namespace rs::engine {

void EngineMetrics::render(metrics::Exposition& out) const {
  const auto histogram = [&out](std::string_view name, std::string_view help, const metrics::Histogram& h) {
    out.family(name, "histogram", help);
    out.histogram(name, h);
  };
  histogram("ringserve_time_to_first_token_seconds", "Request arrival to its first generated token.",
            time_to_first_token);
  histogram("ringserve_time_per_output_token_seconds", "Time between consecutive tokens of a request.",
            time_per_output_token);
  histogram("ringserve_e2e_request_latency_seconds", "Request arrival to its last token.", e2e_latency);
  histogram("ringserve_request_queue_time_seconds", "Request arrival to its first scheduled step.", queue_wait);
  histogram("ringserve_engine_step_seconds", "One batched step: scheduling, the forward pass and sampling.", step_time);

  const auto counter = [&out](std::string_view name, std::string_view help, const metrics::Counter& c) {
    out.family(name, "counter", help);
    out.sample(name, {}, double(c.value()));
  };
  counter("ringserve_prompt_tokens_total", "Prompt tokens of the requests the engine accepted.", prompt_tokens);
  counter("ringserve_generation_tokens_total", "Tokens generated.", generation_tokens);
  counter("ringserve_preemptions_total",
          "Sequences whose KV blocks were taken back for older ones, to be recomputed later.", preemptions);
  counter("ringserve_engine_steps_total", "Batched forward steps run.", steps);
  counter("ringserve_prefix_cache_queries_total",
          "Prompt tokens looked up in the prefix cache (each sequence's prompt, when first admitted).",
          prefix_cache_queries);
  counter("ringserve_prefix_cache_hits_total", "Prompt tokens the prefix cache gave instead of a prefill.",
          prefix_cache_hits);
  out.family("ringserve_prefix_cache_evictions_total", "counter",
             "Cached KV blocks evicted (least recently used first) to make room.");
  out.sample("ringserve_prefix_cache_evictions_total", {}, double(prefix_cache_evictions.value()));

  const auto gauge = [&out](std::string_view name, std::string_view help, double value) {
    out.family(name, "gauge", help);
    out.sample(name, {}, value);
  };
  gauge("ringserve_num_requests_waiting", "API requests none of whose sequences has started (queued for a slot or "
        "KV blocks).", double(requests_waiting.value()));
  gauge("ringserve_num_requests_running", "API requests with at least one sequence in the running batch.",
        double(requests_running.value()));
  gauge("ringserve_num_sequences_waiting", "Sequences (one per choice and prompt) queued for a slot or KV blocks.",
        double(sequences_waiting.value()));
  gauge("ringserve_num_sequences_running", "Sequences in the running batch, holding KV blocks.",
        double(sequences_running.value()));
  const double total = double(kv_blocks_total.value());
  gauge("ringserve_kv_cache_usage_ratio",
        "Fraction of the KV cache's blocks held by sequences (0-1); cached blocks nobody holds count as free.",
        total > 0 ? double(kv_blocks_used.value()) / total : 0.0);
  gauge("ringserve_kv_cache_blocks", "KV cache blocks in the pool.", total);
  gauge("ringserve_prefix_cache_blocks", "KV cache blocks cached for prefix reuse (held or evictable).",
        double(prefix_cache_blocks.value()));
  gauge("ringserve_batch_sequences", "Sequences in the last step's batch.", double(batch_sequences.value()));
  gauge("ringserve_batch_tokens", "Tokens in the last step's batch.", double(batch_tokens.value()));
}

}  // namespace rs::engine
