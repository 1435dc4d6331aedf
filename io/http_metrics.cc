#include "io/http_metrics.h"

#include <string>

namespace rs::io {

void render_http_metrics(std::span<const HttpMetrics* const> shards, metrics::Exposition& out) {
  out.family("ringserve_http_requests_total", "counter",
             "HTTP responses sent, by shard and status code.");
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string shard = std::to_string(s);
    for (int code = 100; code < 600; ++code) {
      const uint64_t n = shards[s]->responses_by_status[code].value();
      if (n > 0) {
        const std::string c = std::to_string(code);
        out.sample("ringserve_http_requests_total", {{"shard", shard}, {"code", c}}, double(n));
      }
    }
  }
  struct Scalar {
    const char* name;
    const char* type;
    const char* help;
    double (*read)(const HttpMetrics&);
  };
  static constexpr Scalar kScalars[] = {
      {"ringserve_http_connections_open", "gauge", "Open client connections, by shard.",
       [](const HttpMetrics& m) { return double(m.connections_open.value()); }},
      {"ringserve_http_connections_accepted_total", "counter", "Client connections accepted, by shard.",
       [](const HttpMetrics& m) { return double(m.connections_accepted.value()); }},
      {"ringserve_http_connections_rejected_total", "counter",
       "Connections answered 503 because the shard was at --max-connections.",
       [](const HttpMetrics& m) { return double(m.connections_rejected.value()); }},
      {"ringserve_http_connections_stalled_total", "counter",
       "Connections closed because the client took no response bytes for --write-timeout, or for longest while "
       "unsent bytes were at --max-unsent-bytes.",
       [](const HttpMetrics& m) { return double(m.connections_stalled.value()); }},
      {"ringserve_http_received_bytes_total", "counter", "Bytes received from clients, by shard.",
       [](const HttpMetrics& m) { return double(m.bytes_received.value()); }},
      {"ringserve_http_sent_bytes_total", "counter", "Bytes sent to clients, by shard.",
       [](const HttpMetrics& m) { return double(m.bytes_sent.value()); }},
  };
  for (const Scalar& scalar : kScalars) {
    out.family(scalar.name, scalar.type, scalar.help);
    for (size_t s = 0; s < shards.size(); ++s) {
      out.sample(scalar.name, {{"shard", std::to_string(s)}}, scalar.read(*shards[s]));
    }
  }
}

}  // namespace rs::io
