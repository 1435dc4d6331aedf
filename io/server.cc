#include "io/server.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "io/listener.h"

namespace rs::io {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  return cpus;
}

int default_shard_count(int reserved_for_compute) {
  const int cpus = static_cast<int>(allowed_cpus().size());
  return std::max(1, cpus - reserved_for_compute);
}

Server::Server(ServerConfig config) : config_(std::move(config)), budget_(config_.max_unsent_bytes) {}

Server::~Server() {
  stop();
  wait();
}

void Server::start() {
  const std::vector<int> cpus = allowed_cpus();
  backend_ = resolve(config_.io_backend);
  const int count = std::max(1, config_.shards);
  uint16_t port = config_.port;
  for (int i = 0; i < count; ++i) {
    const int fd = open_listener(config_.host, port);
    if (port == 0) port = local_port(fd);  // the others join the ephemeral port the first got
    const int cpu = config_.pin_shards && !cpus.empty() ? cpus[i % cpus.size()] : -1;
    shards_.push_back(std::make_unique<Shard>(i, config_, router_, budget_, fd, cpu, backend_));
  }
  port_ = port;
  for (auto& shard : shards_) shard->start();
}

void Server::drain() {
  for (auto& shard : shards_) shard->drain();
}

void Server::stop() {
  for (auto& shard : shards_) shard->stop();
}

void Server::wait() {
  for (auto& shard : shards_) shard->join();
}

void Server::render_metrics(metrics::Exposition& out) const {
  std::vector<const HttpMetrics*> all;
  for (const auto& shard : shards_) all.push_back(&shard->metrics());
  render_http_metrics(all, out);
  out.family("ringserve_http_unsent_bytes", "gauge",
             "Response bytes queued for clients and not yet taken by their sockets, across all connections "
             "(held under --max-unsent-bytes).");
  out.sample("ringserve_http_unsent_bytes", {}, double(budget_.used()));
}

}  // namespace rs::io
