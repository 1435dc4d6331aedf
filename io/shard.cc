#include "io/shard.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/base/log.h"
#include "io/epoll_driver.h"
#include "io/listener.h"
#include "io/reply.h"
#include "io/uring_driver.h"

namespace rs::io {
namespace {

// Completion tag = object address | operation; objects are 16-byte aligned.
enum Op : uint64_t { kAccept = 1, kWake = 2, kTick = 3, kRecv = 4, kSend = 5 };
constexpr uint64_t kOpMask = 0xF;
constexpr size_t kMaxIov = 64;
constexpr auto kTickInterval = std::chrono::milliseconds(100);
constexpr auto kLinger = std::chrono::seconds(2);  // after our last byte, wait this long for the client's FIN
// After the drain deadline, the final events of cut responses get this long to go out.
constexpr auto kCutFlush = std::chrono::milliseconds(800);
// Under output pressure, a connection whose socket took nothing for this long may be closed.
constexpr auto kMinStallToClose = std::chrono::seconds(1);

}  // namespace

// A connection and its socket.
struct alignas(16) Shard::Link {
  uint64_t id = 0;
  int fd = -1;
  std::unique_ptr<Connection> http;
  int ops = 0;                 // operations in flight on this link's socket
  bool recv_armed = false;
  bool recv_cancelling = false;
  bool send_in_flight = false;
  bool eof = false;            // the client closed its side
  bool write_shut = false;     // our side is closed; waiting for the client's FIN
  bool dead = false;           // closed; freed once `ops` reaches zero
  Clock::time_point linger_deadline{};
  msghdr message{};
  iovec iov[kMaxIov];
};

Shard::Shard(int index, const ServerConfig& config, const Router& router, OutputBudget& budget, int listen_fd,
             int cpu, IoBackend backend)
    : index_(index),
      config_(config),
      router_(router),
      budget_(budget),
      listen_fd_(listen_fd),
      cpu_(cpu),
      backend_(backend) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
  date_ = http_date(time(nullptr));
}

Shard::~Shard() {
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  close(wake_fd_);
}

void Shard::start() {
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started] { run(started); });
  ready.get();  // rethrows a set-up failure
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::post(Task task) {
  tasks_.push(std::move(task));
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  }
}

void Shard::drain() {
  post([this] { begin_drain(); });
}

void Shard::stop() {
  post([this] {
    begin_drain();
    close_all();
    exit_ = true;
  });
}

Connection* Shard::connection(uint64_t id) {
  const auto it = links_.find(id);
  return it == links_.end() || it->second->dead ? nullptr : it->second->http.get();
}

void Shard::schedule(uint64_t connection_id) { scheduled_.push_back(connection_id); }

void Shard::run(std::promise<void>& started) {
  pthread_setname_np(pthread_self(), fmt::format("shard-{}", index_).c_str());
  if (cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
      log::warn("shard {}: cannot pin to CPU {}; running unpinned", index_, cpu_);
    }
  }
  try {
    const DriverOptions options{index_, config_.max_connections};
    auto handler = [this](const Completion& c) { on_completion(c); };
    if (backend_ == IoBackend::epoll) driver_ = std::make_unique<EpollDriver>(options, handler);
    else driver_ = std::make_unique<UringDriver>(options, handler);
  } catch (...) {
    started.set_exception(std::current_exception());
    return;
  }
  arm_accept();
  arm_wake();
  arm_tick();
  started.set_value();

  while (!exit_) {
    service_scheduled();
    clock_stale_ = true;
    driver_->wait();
    if (draining_ && links_.empty()) exit_ = true;
  }
  close_all();
  driver_.reset();  // cancels whatever was still in flight
  for (auto& [id, link] : links_) {
    close(link->fd);
    metrics_.connections_open.add(-1);
  }
  links_.clear();
}

void Shard::arm_accept() {
  driver_->accept(listen_fd_, kAccept);
  accepting_ = true;
}

void Shard::arm_wake() { driver_->read(wake_fd_, &wake_value_, sizeof wake_value_, kWake); }

void Shard::arm_tick() { driver_->timeout(kTickInterval, kTick); }

void Shard::arm_recv(Link& link) {
  driver_->recv(link.fd, reinterpret_cast<uint64_t>(&link) | kRecv);
  link.recv_armed = true;
  ++link.ops;
}

void Shard::arm_send(Link& link) {
  link.message = {};
  link.message.msg_iov = link.iov;
  link.message.msg_iovlen = link.http->gather(link.iov, kMaxIov);
  driver_->send(link.fd, link.message, reinterpret_cast<uint64_t>(&link) | kSend);
  link.send_in_flight = true;
  ++link.ops;
}

void Shard::on_completion(const Completion& completion) {
  if (clock_stale_) {
    now_ = Clock::now();
    clock_stale_ = false;
  }
  const uint64_t op = completion.tag & kOpMask;
  switch (op) {
    case kAccept: on_accept(completion); return;
    case kWake: on_wake(); return;
    case kTick: on_tick(); return;
    default: break;
  }
  Link& link = *reinterpret_cast<Link*>(completion.tag & ~kOpMask);
  if (op == kRecv) on_recv(link, completion);
  else on_send(link, completion);
  if (link.dead) release(link);
}

void Shard::on_accept(const Completion& completion) {
  if (!completion.more) accepting_ = false;
  const int result = completion.result;
  if (result < 0) {
    if (result != -ECANCELED) {
      log::warn("shard {}: accept failed: {}{}", index_, std::strerror(-result),
                result == -EMFILE || result == -ENFILE ? " (raise the open-files limit)" : "");
    }
    return;  // re-armed by the next tick, so a persistent error cannot spin
  }
  if (!accepting_ && !draining_) arm_accept();
  if (draining_) {
    close(result);
    return;
  }
  open_link(result);
}

void Shard::open_link(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  metrics_.connections_accepted.add();
  const size_t overflow_allowance = config_.max_connections / 8 + 16;
  // At the limit, a connection idle between keep-alive requests gives its slot to the new one (as nginx does).
  const bool over = links_.size() >= config_.max_connections && !reclaim_idle_keep_alive();
  if (over) {
    metrics_.connections_rejected.add();
    if (now_ - last_overload_log_ > std::chrono::seconds(10)) {
      last_overload_log_ = now_;
      log::warn("shard {}: at --max-connections {}: answering new connections 503", index_,
                config_.max_connections);
    }
    if (links_.size() >= config_.max_connections + overflow_allowance) {
      close(fd);  // even the 503 path is full: refuse outright rather than queue
      return;
    }
  }
  auto link = std::make_unique<Link>();
  link->id = next_connection_id_++;
  link->fd = fd;
  driver_->adopt(fd);
  // Logs name the client by its address with --access-log, else by the connection's number (no getpeername).
  link->http = std::make_unique<Connection>(
      link->id, config_.access_log ? peer_name(fd) : fmt::format("#{}", link->id), config_, metrics_, budget_,
      now_, date_, [this](Connection& c, Exchange& e) { dispatch(c, e); });
  if (over) link->http->reject_over_capacity();
  metrics_.connections_open.add(1);
  arm_recv(*link);
  links_.emplace(link->id, std::move(link));
}

void Shard::on_wake() {
  wake_pending_.exchange(false, std::memory_order_acq_rel);
  while (auto task = tasks_.pop()) (*task)();
  if (!exit_) arm_wake();
}

void Shard::on_tick() {
  const auto now = now_;
  const long second = time(nullptr);
  if (second != date_second_) {
    date_second_ = second;
    date_ = http_date(second);
  }
  if (!accepting_ && !draining_) arm_accept();
  std::vector<Link*> expired;
  for (auto& [id, link] : links_) {
    if (link->dead) continue;
    if (link->write_shut) {
      if (now > link->linger_deadline) expired.push_back(link.get());
      continue;
    }
    switch (link->http->check_timeouts()) {
      case Connection::Timeout::none: break;
      case Connection::Timeout::request_timed_out: schedule(id); break;
      case Connection::Timeout::idle: expired.push_back(link.get()); break;
      case Connection::Timeout::write_stalled:
        log::warn("shard {}: a client took no response bytes for --write-timeout ({}s); closing it and cancelling "
                  "its requests", index_, config_.write_timeout.count());
        metrics_.connections_stalled.add();
        expired.push_back(link.get());
        break;
    }
  }
  for (Link* link : expired) {
    close_link(*link);
    release(*link);
  }
  if (const uint64_t refusals = budget_.refusals(); refusals != budget_refusals_seen_) {
    budget_refusals_seen_ = refusals;
    close_longest_stalled();
  }
  if (draining_ && !cut_ && now > drain_deadline_) cut_in_flight();
  if (cut_ && now > drain_deadline_ + kCutFlush && !links_.empty()) close_all();
  if (!exit_) arm_tick();
}

void Shard::on_recv(Link& link, const Completion& completion) {
  if (!completion.more) {
    link.recv_armed = false;
    link.recv_cancelling = false;
    --link.ops;
  }
  if (completion.result > 0) {
    if (!link.dead) link.http->receive(completion.data);
  } else if (completion.result == 0) {
    link.eof = true;
    if (link.write_shut) close_link(link);  // the client's FIN after our last byte
    else if (!link.dead) link.http->receive_eof();
  } else if (completion.result != -ENOBUFS && completion.result != -ECANCELED) {
    close_link(link);  // connection reset or similar: the client is gone
  }
  if (!link.dead) schedule(link.id);
}

void Shard::on_send(Link& link, const Completion& completion) {
  link.send_in_flight = false;
  --link.ops;
  if (link.dead) return;
  if (completion.result < 0) {
    close_link(link);  // EPIPE / ECONNRESET: the client is gone
    return;
  }
  link.http->sent(static_cast<size_t>(completion.result));
  schedule(link.id);
}

void Shard::service_scheduled() {
  // service() may schedule again (a posted task answering, say): loop until quiet.
  while (!scheduled_.empty()) {
    std::vector<uint64_t> ids;
    ids.swap(scheduled_);
    for (const uint64_t id : ids) {
      const auto it = links_.find(id);
      if (it != links_.end() && !it->second->dead) service(*it->second);
    }
  }
}

// Brings the socket in line with the connection's state.
void Shard::service(Link& link) {
  Connection& http = *link.http;
  if (http.broken()) {
    close_link(link);
    release(link);
    return;
  }
  if (http.has_output() && !link.send_in_flight) arm_send(link);
  if (http.done() && !link.send_in_flight && !link.write_shut) {
    // Close our side first and wait for the client's FIN: closing with unread
    // input would reset the connection and could destroy the final response.
    shutdown(link.fd, SHUT_WR);
    link.write_shut = true;
    link.linger_deadline = now_ + kLinger;
    if (link.eof) {
      close_link(link);
      release(link);
      return;
    }
  }
  const bool want_input = !link.eof && http.wants_input();
  if (want_input && !link.recv_armed) {
    arm_recv(link);
  } else if (!want_input && link.recv_armed && !link.recv_cancelling && !link.eof) {
    // Pipeline full: stop reading so TCP pushes back on the client.
    driver_->cancel_recv(link.fd, reinterpret_cast<uint64_t>(&link) | kRecv);
    link.recv_cancelling = true;
  }
}

void Shard::close_link(Link& link) {
  if (link.dead) return;
  link.dead = true;
  link.http->abort();
  if (link.ops > 0) driver_->cancel_all(link.fd);
}

// Frees a closed link once no operation on its socket is pending.
void Shard::release(Link& link) {
  if (!link.dead || link.ops > 0) return;
  driver_->forget(link.fd);
  close(link.fd);
  metrics_.connections_open.add(-1);
  links_.erase(link.id);
}

void Shard::dispatch(Connection& connection, Exchange& exchange) {
  const uint64_t connection_id = connection.id();
  const uint64_t exchange_id = exchange.id;
  Request& request = exchange.request;
  const Router::Match match = router_.find(request.method, request.path());
  schedule(connection_id);
  if (request.method == Method::options && match.handler == nullptr) {
    answer_options(connection, exchange, match);
    return;
  }
  if (match.handler == nullptr) {
    if (match.status == 405) {
      Response response = error_response(
          405, fmt::format("method {} is not allowed for {}; allowed: {}", request.method_text,
                           request.path(), match.allow));
      response.headers.push_back({"Allow", match.allow});
      connection.respond(exchange, std::move(response));
    } else {
      connection.respond(exchange, error_response(404, fmt::format("Unknown request URL: {} {}",
                                                                   request.method_text, request.path())));
    }
    return;
  }
  try {
    (*match.handler)(request, Reply(*this, connection_id, exchange_id));
  } catch (const std::exception& e) {
    log::error("handler for {} {} failed: {}", request.method_text, request.path(), e.what());
    Connection* c = this->connection(connection_id);
    Exchange* x = c ? c->find(exchange_id) : nullptr;
    if (x != nullptr && !x->responded) c->respond(*x, error_response(500, "internal server error"));
    else if (x != nullptr) c->stream_end(*x);
  }
}

// OPTIONS: the methods a path takes, and a CORS preflight's answer when --cors-origin is set (the
// Access-Control-Allow-Origin header itself goes on every response).
void Shard::answer_options(Connection& connection, Exchange& exchange, const Router::Match& match) {
  const std::string_view path = exchange.request.path();
  if (match.status == 404 && path != "*") {
    connection.respond(exchange, error_response(404, fmt::format("Unknown request URL: OPTIONS {}", path)));
    return;
  }
  const std::string allow = match.allow.empty() ? "GET, HEAD, POST, OPTIONS" : match.allow + ", OPTIONS";
  Response response;
  response.status = 204;
  response.content_type = "";
  response.headers.push_back({"Allow", allow});
  if (!config_.cors_origin.empty()) {
    response.headers.push_back({"Access-Control-Allow-Methods", allow});
    const auto asked = exchange.request.header("Access-Control-Request-Headers");
    response.headers.push_back({"Access-Control-Allow-Headers",
                                std::string(asked.value_or("Authorization, Content-Type"))});
    response.headers.push_back({"Access-Control-Max-Age", "86400"});
  }
  connection.respond(exchange, std::move(response));
}

// Closes the longest-idle keep-alive connection; false when there is none.
bool Shard::reclaim_idle_keep_alive() {
  Link* oldest = nullptr;
  for (auto& [id, link] : links_) {
    if (link->dead || link->write_shut || !link->http->idle_keep_alive()) continue;
    if (oldest == nullptr || link->http->last_activity() < oldest->http->last_activity()) oldest = link.get();
  }
  if (oldest == nullptr) return false;
  close_link(*oldest);
  release(*oldest);
  return true;
}

// Another large response was refused for want of --max-unsent-bytes: free the room the slowest reader holds.
void Shard::close_longest_stalled() {
  Link* slowest = nullptr;
  for (auto& [id, link] : links_) {
    if (link->dead || link->write_shut || link->http->stalled_for() < kMinStallToClose) continue;
    if (slowest == nullptr || link->http->stalled_for() > slowest->http->stalled_for()) slowest = link.get();
  }
  if (slowest == nullptr) return;
  log::warn("shard {}: unsent response bytes reached --max-unsent-bytes {}; closing the connection that has taken "
            "nothing for longest ({:.1f}s)", index_, budget_.cap(),
            std::chrono::duration<double>(slowest->http->stalled_for()).count());
  metrics_.connections_stalled.add();
  close_link(*slowest);
  release(*slowest);
}

void Shard::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = now_ + std::chrono::duration_cast<Clock::duration>(config_.drain_timeout);
  if (accepting_) driver_->cancel_accept(kAccept);
  close(listen_fd_);  // new connections go nowhere; a pending accept holds its own reference
  listen_fd_ = -1;
  for (auto& [id, link] : links_) {
    if (link->dead) continue;
    link->http->drain();
    schedule(id);
  }
}

// The drain deadline: every response still running ends now, with a final word where its handler has one
// (streams: a last event saying they were cut), so clients can tell a shutdown from a network fault.
void Shard::cut_in_flight() {
  cut_ = true;
  size_t cut = 0;
  std::vector<uint64_t> ids;
  for (auto& [id, link] : links_) ids.push_back(id);
  for (const uint64_t id : ids) {
    if (Connection* c = connection(id)) {
      cut += c->cut();
      schedule(id);
    }
  }
  if (cut > 0) {
    log::warn("shard {}: --drain-timeout ({}s) reached; cut {} request(s) still in flight (streams end with "
              "finish_reason \"abort\", others get 503)", index_, config_.drain_timeout.count(), cut);
  }
}

void Shard::close_all() {
  std::vector<Link*> all;
  for (auto& [id, link] : links_) all.push_back(link.get());
  for (Link* link : all) {
    close_link(*link);
    release(*link);
  }
}

}  // namespace rs::io
