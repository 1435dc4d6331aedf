#include "core/serve.h"

#include <mimalloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <thread>

#include "core/command.h"
#include "core/endpoints.h"
#include "core/log.h"
#include "gpu/device.h"
#include "io/server.h"

namespace rs {
namespace {

// The engine thread (a later issue) needs a core of its own.
constexpr int kCoresReservedForCompute = 1;

void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void log_devices() {
  std::string why_none;
  const auto devices = gpu::visible_devices(why_none);
  if (devices.empty()) log::info("CUDA: no usable device ({})", why_none);
  for (const auto& d : devices) {
    log::info("CUDA device {}: {}, {:.1f} GiB, sm_{}{}", d.index, d.name,
              double(d.memory_bytes) / (1 << 30), d.compute_major, d.compute_minor);
  }
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand("serve", "Run the HTTP server (until SIGTERM/SIGINT)");
  auto options = std::make_shared<ServeOptions>();
  ServeOptions& o = *options;
  io::ServerConfig& s = o.server;
  s.shards = io::default_shard_count(kCoresReservedForCompute);
  command.add_option("--host", s.host, "Address to listen on")->capture_default_str();
  command.add_option("--port", s.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  command.add_option("--shards", s.shards,
                     "HTTP reactor threads, each pinned to a core with its own io_uring "
                     "(default: the CPUs this process may use, minus one for the engine)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command.add_flag("--no-pin", o.no_pin, "Do not pin shard threads to cores");
  command.add_option("--max-connections", s.max_connections,
                     "Open connections per shard; connections beyond it are answered 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--max-header-bytes", s.limits.max_header_bytes,
                     "Largest request line + headers; larger requests get 431")
      ->check(CLI::Range(size_t{256}, size_t{1} << 24))
      ->capture_default_str();
  command.add_option("--max-body-bytes", s.limits.max_body_bytes,
                     "Largest request body; larger requests get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--header-timeout", o.header_timeout_s,
                     "Seconds a client may take to send a request's headers (slowloris guard); "
                     "then 408 and close")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--body-timeout", o.body_timeout_s,
                     "Seconds a client may take to send a request's body; then 408 and close")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--idle-timeout", o.idle_timeout_s,
                     "Seconds an idle keep-alive connection stays open")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--drain-timeout", o.drain_timeout_s,
                     "On SIGTERM/SIGINT: seconds in-flight requests get to finish before exit "
                     "(keep it below Cloud Run's 10 s grace period)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--max-output-bytes", s.max_output_bytes,
                     "Unsent response bytes a slow client may pile up before its request is "
                     "cancelled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_flag("--access-log", s.access_log, "Log one line per request");
  return {&command, [options] { return serve(*options); }};
}

int serve(ServeOptions o) {
  o.server.header_timeout = io::Seconds(o.header_timeout_s);
  o.server.body_timeout = io::Seconds(o.body_timeout_s);
  o.server.idle_timeout = io::Seconds(o.idle_timeout_s);
  o.server.drain_timeout = io::Seconds(o.drain_timeout_s);
  o.server.pin_shards = !o.no_pin;

  raise_open_files_limit();
  // Signals are taken by this thread with sigwait; every thread started from
  // here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  void* probe = malloc(64);  // mimalloc must own malloc itself, not just be linked in
  const bool redirected = mi_is_in_heap_region(probe);
  free(probe);
  const int v = mi_version();  // e.g. 209 for 2.0.9
  log::info("ringserve {} starting (allocator: mimalloc {}.{}.{}, malloc {})", RINGSERVE_VERSION,
            v / 100, v / 10 % 10, v % 10,
            redirected ? "redirected" : "NOT redirected: check the link order");
  log_devices();

  std::atomic<bool> model_ready{false};
  io::Server server(o.server);
  add_health_endpoints(server, model_ready);
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error("cannot start the HTTP server: {}", e.what());
    return 1;
  }
  log::info("listening on http://{}:{} with {} shard(s); no model loaded yet: /ready answers 503",
            o.server.host, server.port(), server.shard_count());

  std::atomic<bool> exited{false};
  std::thread waiter([&] {
    server.wait();
    exited = true;
  });
  bool draining = false;
  const timespec poll{0, 100'000'000};
  while (!exited) {
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &poll);
    if (sig < 0) continue;
    if (!draining) {
      draining = true;
      log::info("received {}: draining (finishing in-flight requests for up to {}s; "
                "signal again to stop now)", sigabbrev_np(sig), o.drain_timeout_s);
      server.drain();
    } else {
      log::warn("received {} again: closing all connections now", sigabbrev_np(sig));
      server.stop();
    }
  }
  waiter.join();
  log::info("stopped");
  return 0;
}

}  // namespace rs
