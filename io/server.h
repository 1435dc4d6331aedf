#pragma once
// The HTTP front end: N shards on one port. Add routes, start(), and later
// drain() (graceful) or stop() (now), then wait().
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/metrics.h"
#include "io/output_budget.h"
#include "io/router.h"
#include "io/server_config.h"
#include "io/shard.h"

namespace rs::io {

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes are fixed once start() is called.
  Router& router() { return router_; }
  const ServerConfig& config() const { return config_; }

  // Binds every shard's listener and starts the shards. Throws
  // std::runtime_error naming the address or the failing facility.
  void start();
  uint16_t port() const { return port_; }
  IoBackend io_backend() const { return backend_; }  // what the shards use, once started

  void drain();  // any thread
  void stop();   // any thread
  void wait();   // until every shard has exited

  size_t shard_count() const { return shards_.size(); }
  Shard& shard(size_t index) { return *shards_[index]; }
  void render_metrics(metrics::Exposition& out) const;
  const OutputBudget& output_budget() const { return budget_; }

 private:
  ServerConfig config_;
  Router router_;
  OutputBudget budget_;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint16_t port_ = 0;
  IoBackend backend_ = IoBackend::automatic;
};

// Default shard count: the CPUs this process may run on, minus those reserved
// for compute, at least one.
int default_shard_count(int reserved_for_compute);
std::vector<int> allowed_cpus();

}  // namespace rs::io
