#include "io/connection.h"

#include <fmt/format.h>

#include "core/base/log.h"

namespace rs::io {
namespace {

// Below this, copying a body next to its framing costs less than a second
// iovec (and the kernel's copy of it); larger bodies are sent by reference.
constexpr size_t kCoalesceBytes = 1024;
// Whole responses from this size on must fit --max-unsent-bytes; smaller ones
// (error answers among them) always go out.
constexpr size_t kLargeResponseBytes = 64 * 1024;

}  // namespace

Connection::Connection(uint64_t id, std::string peer, const ServerConfig& config, HttpMetrics& metrics,
                       OutputBudget& budget, const Clock::time_point& now, const std::string& date,
                       Dispatch dispatch)
    : id_(id),
      peer_(std::move(peer)),
      config_(config),
      metrics_(metrics),
      budget_(budget),
      now_(now),
      date_(date),
      dispatch_(std::move(dispatch)),
      parser_(config.limits),
      head_started_(now),
      last_activity_(now),
      write_progress_(now) {}

Connection::~Connection() { budget_.give_back(pending_bytes_); }

bool Connection::wants_input() const {
  if (reading_done_) return true;  // keep reading (and discarding) until the client closes
  return stash_.empty() && (pipeline_.size() < config_.max_pipeline || receiving_ != nullptr);
}

bool Connection::idle() const {
  return pipeline_.empty() && !parser_.in_progress() && out_bytes_ == 0 && stash_.empty();
}

void Connection::receive(std::string_view bytes) {
  last_activity_ = now_;
  metrics_.bytes_received.add(bytes.size());
  if (reading_done_) return;
  if (parsing_ || !stash_.empty()) {
    stash_.append(bytes);
    return;
  }
  parse(bytes);
}

// A client that closes its side has gone (as uvicorn and vLLM read it): its
// unfinished requests are cancelled at once so the work behind them stops.
void Connection::receive_eof() { abort(); }

void Connection::parse(std::string_view bytes) {
  parsing_ = true;
  while (!bytes.empty() && !reading_done_ && !broken_) {
    if (!parser_.in_progress()) {
      if (draining_) {
        stop_reading();
        break;
      }
      if (pipeline_.size() >= config_.max_pipeline) {  // resumed from advance()
        stash_.append(bytes);
        break;
      }
      if (next_exchange_id_ > 1) head_started_ = now_;  // the first request's clock runs from accept
    }
    const auto [event, consumed] = parser_.feed(bytes);
    bytes.remove_prefix(consumed);
    if (parser_.take_head()) {
      Exchange& exchange = open_exchange();
      const Request& head = parser_.request();
      exchange.head_only = head.method == Method::head;
      exchange.client_keep_alive = head.keep_alive;
      exchange.http10 = head.version_major == 1 && head.version_minor == 0;
      receiving_ = &exchange;
      body_started_ = now_;
      if (over_capacity_) {
        fail(503, "server is at its connection limit; retry shortly");
        break;
      }
      // A client that sent body bytes along did not wait for the interim answer.
      if (parser_.expects_continue() && event == RequestParser::Event::need_more &&
          head.body.empty()) {
        emit(exchange, Bytes::borrowed(kContinue));
      }
    }
    if (event == RequestParser::Event::error) {
      fail(parser_.error_status(), parser_.error_message());
      break;
    }
    if (event == RequestParser::Event::request) {
      Exchange& exchange = *receiving_;
      receiving_ = nullptr;
      exchange.request = parser_.take_request();
      exchange.dispatched = true;
      if (!exchange.request.keep_alive) stop_reading();  // nothing after "Connection: close"
      dispatch_(*this, exchange);  // may answer, and finish, `exchange` right away
    }
  }
  parsing_ = false;
}

Exchange& Connection::open_exchange() {
  auto exchange = std::make_unique<Exchange>();
  exchange->id = next_exchange_id_++;
  exchange->received_at = now_;
  pipeline_.push_back(std::move(exchange));
  return *pipeline_.back();
}

void Connection::fail(int status, const std::string& message) {
  Exchange& exchange = receiving_ ? *receiving_ : open_exchange();
  receiving_ = nullptr;
  exchange.client_keep_alive = false;
  stop_reading();
  Response response = error_response(status, message);
  if (status == 503) response.headers.push_back({"Retry-After", "1"});
  respond(exchange, std::move(response));
}

Exchange* Connection::find(uint64_t exchange_id) {
  for (auto& exchange : pipeline_) {
    if (exchange->id == exchange_id) return exchange.get();
  }
  return nullptr;
}

void Connection::emit(Exchange& exchange, Bytes&& bytes) {
  budget_.take(bytes.size());
  queue(exchange, std::move(bytes));
}

void Connection::queue(Exchange& exchange, Bytes&& bytes) {
  const size_t n = bytes.size();
  pending_bytes_ += n;
  if (!pipeline_.empty() && pipeline_.front().get() == &exchange) {
    if (out_bytes_ == 0) write_progress_ = now_;  // the stall clock starts when output starts waiting
    out_bytes_ += n;
    out_.push_back(std::move(bytes));
  } else {
    exchange.early_output.push_back(std::move(bytes));
  }
}

std::string Connection::produce_head(Exchange& exchange, int status, std::string_view content_type,
                                     const std::vector<Header>& headers, Framing framing,
                                     size_t length) {
  exchange.responded = true;
  exchange.status = status;
  exchange.framing = framing;
  const bool last = pipeline_.back().get() == &exchange && !parser_.in_progress();
  exchange.keep_alive = exchange.client_keep_alive && framing != Framing::until_close &&
                        !((reading_done_ || draining_) && last);
  metrics_.count_response(status);
  if (config_.cors_origin.empty()) {
    return format_head({status, content_type, &headers, framing, length, exchange.keep_alive, date_});
  }
  std::vector<Header> with_cors = headers;
  with_cors.push_back({"Access-Control-Allow-Origin", config_.cors_origin});
  if (config_.cors_origin != "*") with_cors.push_back({"Vary", "Origin"});
  return format_head({status, content_type, &with_cors, framing, length, exchange.keep_alive, date_});
}

void Connection::respond(Exchange& exchange, Response&& response) {
  if (exchange.responded) return;  // a second answer to one request: the first stands
  const bool large = !exchange.head_only && response.body.size() >= kLargeResponseBytes;
  if (large && !budget_.try_take(response.body.size())) {
    log::warn("{} unsent response bytes across all connections would pass --max-unsent-bytes {}: "
              "answering 503 instead of a {}-byte response", budget_.used(), budget_.cap(), response.body.size());
    response = error_response(503, fmt::format("the server holds too many unsent response bytes (--max-unsent-bytes "
                                               "{}) for clients that read slowly; retry shortly", budget_.cap()));
    response.headers.push_back({"Retry-After", "1"});
    respond(exchange, std::move(response));
    return;
  }
  std::string head = produce_head(exchange, response.status, response.content_type,
                                  response.headers, Framing::content_length, response.body.size());
  const size_t body_size = exchange.head_only ? 0 : response.body.size();
  exchange.body_bytes = body_size;
  if (body_size > 0 && body_size < kCoalesceBytes) {
    head.append(response.body.view());
    emit(exchange, std::move(head));
  } else {
    emit(exchange, std::move(head));
    if (large) queue(exchange, std::move(response.body));
    else if (body_size > 0) emit(exchange, std::move(response.body));
  }
  finish(exchange);
}

void Connection::stream_begin(Exchange& exchange, StreamHead&& head) {
  if (exchange.responded) return;
  const Framing framing = exchange.http10 ? Framing::until_close : Framing::chunked;
  emit(exchange, produce_head(exchange, head.status, head.content_type, head.headers, framing, 0));
}

bool Connection::stream_write(Exchange& exchange, Bytes&& bytes) {
  if (!exchange.responded || exchange.finished || broken_) return false;
  if (bytes.empty() || exchange.head_only) return true;
  const size_t n = bytes.size();
  if (pending_bytes_ + n > config_.max_output_bytes) {
    log::warn("client {} reads too slowly: {} unsent bytes would exceed --max-output-bytes {}; "
              "cancelling its request", peer_, pending_bytes_ + n, config_.max_output_bytes);
    broken_ = true;
    return false;
  }
  if (!budget_.try_take(n)) {
    log::warn("client {}: unsent bytes across all connections reached --max-unsent-bytes {}; cancelling its stream",
              peer_, budget_.cap());
    broken_ = true;
    return false;
  }
  exchange.body_bytes += n;
  if (exchange.framing != Framing::chunked) {
    queue(exchange, std::move(bytes));
  } else if (n < kCoalesceBytes) {
    std::string chunk = chunk_prefix(n);
    chunk.append(bytes.view()).append(kChunkCrlf);
    budget_.take(chunk.size() - n);  // the framing
    queue(exchange, std::move(chunk));
  } else {
    emit(exchange, chunk_prefix(n));
    queue(exchange, std::move(bytes));
    emit(exchange, Bytes::borrowed(kChunkCrlf));
  }
  return true;
}

void Connection::stream_end(Exchange& exchange) {
  if (!exchange.responded || exchange.finished) return;
  if (exchange.framing == Framing::chunked && !exchange.head_only) {
    emit(exchange, Bytes::borrowed(kChunkedEnd));
  }
  finish(exchange);
}

void Connection::finish(Exchange& exchange) {
  exchange.finished = true;
  last_activity_ = now_;
  if (config_.access_log) {
    const Request& r = exchange.request;
    const double ms = std::chrono::duration<double, std::milli>(now_ - exchange.received_at).count();
    log::info("{} \"{} {} HTTP/{}.{}\" {} {} {:.3f}ms", peer_,
              r.method_text.empty() ? "-" : r.method_text, r.target.empty() ? "-" : r.target,
              r.version_major, r.version_minor, exchange.status, exchange.body_bytes, ms);
  }
  advance();
}

// Hands the wire to the next exchange once the one holding it is finished.
void Connection::advance() {
  if (in_advance_) return;
  in_advance_ = true;
  while (!pipeline_.empty() && pipeline_.front()->finished) {
    const bool keep_alive = pipeline_.front()->keep_alive;
    pipeline_.pop_front();
    if (!keep_alive) {
      stop_reading();
      abort();  // requests after one answered "Connection: close" go unanswered
      break;
    }
    if (!pipeline_.empty()) {
      for (Bytes& bytes : pipeline_.front()->early_output) {
        if (out_bytes_ == 0) write_progress_ = now_;
        out_bytes_ += bytes.size();
        out_.push_back(std::move(bytes));
      }
      pipeline_.front()->early_output.clear();
    }
  }
  if (pipeline_.empty() && !parser_.in_progress() && (reading_done_ || draining_)) {
    stop_reading();
    close_after_output_ = true;
  }
  in_advance_ = false;
  if (!parsing_ && !reading_done_ && !stash_.empty() && pipeline_.size() < config_.max_pipeline) {
    std::string pending = std::move(stash_);
    stash_.clear();
    parse(pending);
  }
}

void Connection::stop_reading() {
  reading_done_ = true;
  stash_.clear();
}

size_t Connection::gather(iovec* iov, size_t max_iov) const {
  size_t n = 0;
  size_t offset = out_offset_;
  for (auto it = out_.begin(); it != out_.end() && n < max_iov; ++it) {
    const std::string_view bytes = it->view().substr(offset);
    offset = 0;
    if (bytes.empty()) continue;
    iov[n].iov_base = const_cast<char*>(bytes.data());
    iov[n].iov_len = bytes.size();
    ++n;
  }
  return n;
}

void Connection::sent(size_t bytes) {
  metrics_.bytes_sent.add(bytes);
  last_activity_ = now_;
  if (bytes > 0) write_progress_ = now_;
  out_bytes_ -= bytes;
  pending_bytes_ -= bytes;
  budget_.give_back(bytes);
  while (!out_.empty() && (bytes > 0 || out_.front().size() == out_offset_)) {
    const size_t left = out_.front().size() - out_offset_;
    if (bytes < left) {
      out_offset_ += bytes;
      break;
    }
    bytes -= left;
    out_.pop_front();
    out_offset_ = 0;
  }
}

Clock::duration Connection::stalled_for() const {
  return out_bytes_ > 0 ? now_ - write_progress_ : Clock::duration::zero();
}

Connection::Timeout Connection::check_timeouts() {
  const Clock::time_point now = now_;
  if (stalled_for() > config_.write_timeout) return Timeout::write_stalled;
  if (reading_done_ || broken_) return Timeout::none;
  if (parser_.reading_body()) {
    if (now - body_started_ > config_.body_timeout) {
      fail(408, fmt::format("request body not received within --body-timeout ({}s)",
                            config_.body_timeout.count()));
      return Timeout::request_timed_out;
    }
    return Timeout::none;
  }
  // A new connection's clock runs from accept: one that sends nothing holds a slot no longer than one that
  // sends its headers slowly.
  if (parser_.in_progress() || next_exchange_id_ == 1) {
    if (now - head_started_ > config_.header_timeout) {
      fail(408, fmt::format("request headers not received within --header-timeout ({}s)",
                            config_.header_timeout.count()));
      return Timeout::request_timed_out;
    }
    return Timeout::none;
  }
  if (idle() && now - last_activity_ > config_.idle_timeout) return Timeout::idle;
  return Timeout::none;
}

void Connection::drain() {
  draining_ = true;
  if (!parser_.in_progress()) {
    stop_reading();
    if (pipeline_.empty()) close_after_output_ = true;
  }
}

size_t Connection::cut() {
  drain();
  std::vector<uint64_t> unfinished;  // ids: answering one may pop others off the pipeline
  for (auto& exchange : pipeline_) {
    if (!exchange->finished && exchange->dispatched) unfinished.push_back(exchange->id);
  }
  for (const uint64_t id : unfinished) {
    Exchange* exchange = find(id);
    if (exchange != nullptr && exchange->on_cut) {
      auto on_cut = std::move(exchange->on_cut);
      on_cut();
      exchange = find(id);
    }
    if (exchange == nullptr || exchange->finished) continue;
    if (!exchange->responded) {
      Response response = error_response(503, "the server is shutting down; retry the request");
      response.headers.push_back({"Retry-After", "1"});
      respond(*exchange, std::move(response));
    } else {
      stream_end(*exchange);
    }
  }
  return unfinished.size();
}

void Connection::abort() {
  auto exchanges = std::move(pipeline_);
  pipeline_.clear();
  receiving_ = nullptr;
  reading_done_ = true;
  close_after_output_ = true;
  for (auto& exchange : exchanges) {
    if (!exchange->finished && exchange->on_abort) {
      auto on_abort = std::move(exchange->on_abort);
      on_abort();
    }
  }
}

}  // namespace rs::io
