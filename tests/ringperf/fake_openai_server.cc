#include "tests/ringperf/fake_openai_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <simdjson.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace rs::ringperf::test {
namespace {

// How often a waiting thread looks whether the server is stopping.
constexpr int kStopPollMs = 20;

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) > 0;
}

int listen_tcp(uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(fd, 1024);
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  port = ntohs(addr.sin_port);
  return fd;
}

int listen_unix(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const ServerUrl address = unix_server_url(path);
  unlink(path.c_str());
  bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.address_length);
  listen(fd, 1024);
  return fd;
}

std::string unique_socket_path() {
  static std::atomic<int> servers{0};
  return (std::filesystem::temp_directory_path() / fmt::format("ringperf-fake-{}-{}.sock", getpid(), servers++))
      .string();
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One SSE event as one HTTP chunk, so each reaches the client on its own.
bool send_event(int fd, std::string_view data) {
  const std::string event = fmt::format("data: {}\n\n", data);
  return send_all(fd, fmt::format("{:x}\r\n{}\r\n", event.size(), event));
}

std::optional<int> directive(const std::string& prompt, std::string_view name) {
  std::istringstream words(prompt);
  for (std::string word; words >> word;) {
    if (word.starts_with(name) && word.size() > name.size() && word[name.size()] == '=') {
      return std::stoi(word.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

bool has_word(const std::string& prompt, std::string_view wanted) {
  std::istringstream words(prompt);
  for (std::string word; words >> word;) {
    if (word == wanted) return true;
  }
  return false;
}

size_t word_count(const std::string& text) {
  std::istringstream words(text);
  size_t count = 0;
  for (std::string word; words >> word;) ++count;
  return count;
}

void send_json(int fd, int status, const std::string& body) {
  send_all(fd, fmt::format("HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                           status, body.size(), body));
}

}  // namespace

void FifoSlots::acquire() {
  uint64_t ticket;
  {
    std::lock_guard lock(mutex_);
    ticket = next_ticket_++;
  }
  const auto turn = [&] {
    std::lock_guard lock(mutex_);
    return my_turn(ticket);
  };
  const auto wait = [&] {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return my_turn(ticket); });
  };
  if (clock_ == nullptr) {
    wait();
  } else {
    clock_->block(turn, wait);
  }
  std::lock_guard lock(mutex_);
  --free_;
  ++serving_;
  changed_.notify_all();  // the next ticket may take another free slot
}

void FifoSlots::release() {
  std::lock_guard lock(mutex_);
  ++free_;
  changed_.notify_all();
}

ServerUrl unix_server_url(const std::string& path) {
  ServerUrl server;
  server.text = "unix:" + path;
  server.host = server.host_header = "localhost";
  auto* address = reinterpret_cast<sockaddr_un*>(&server.address);
  address->sun_family = AF_UNIX;
  path.copy(address->sun_path, sizeof address->sun_path - 1);
  server.address_length = sizeof(sockaddr_un);
  return server;
}

FakeOpenAiServer::FakeOpenAiServer(FakeScript script, ScriptedClock* clock)
    : script_(script), clock_(clock), slots_(script.slots, clock) {
  if (clock_ != nullptr) {
    socket_path_ = unique_socket_path();
    listen_fd_ = listen_unix(socket_path_);
    clock_->thread_started();
  } else {
    listen_fd_ = listen_tcp(port_);
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeOpenAiServer::~FakeOpenAiServer() {
  stopping_ = true;
  if (clock_ != nullptr) clock_->stop();
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (const int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& thread : threads_) thread.join();
  ::close(listen_fd_);
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

std::string FakeOpenAiServer::url() const {
  return socket_path_.empty() ? fmt::format("http://127.0.0.1:{}", port_) : "unix:" + socket_path_;
}

ServerUrl FakeOpenAiServer::address() const {
  return socket_path_.empty() ? parse_server_url(url()) : unix_server_url(socket_path_);
}

int64_t FakeOpenAiServer::time_ns() const {
  if (clock_ != nullptr) return clock_->time_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void FakeOpenAiServer::sleep_until(int64_t deadline_ns) const {
  if (clock_ != nullptr) return clock_->sleep_until(deadline_ns);
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)));
}

bool FakeOpenAiServer::wait_readable(int fd) {
  const auto wait = [&] {
    while (!stopping_ && !readable(fd, kStopPollMs)) {
    }
  };
  if (clock_ == nullptr) {
    wait();
  } else {
    clock_->block([fd] { return readable(fd, 0); }, wait);
  }
  return !stopping_;
}

ssize_t FakeOpenAiServer::receive(int fd, char* buffer, size_t size) {
  return wait_readable(fd) ? recv(fd, buffer, size, 0) : 0;
}

void FakeOpenAiServer::close_connection(int fd) {
  {
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
  }
  if (clock_ != nullptr) clock_->unwatch(fd);  // before the number can be reused
  ::close(fd);
  if (clock_ != nullptr) clock_->thread_ended();
}

void FakeOpenAiServer::accept_loop() {
  while (wait_readable(listen_fd_)) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mutex_);
    open_fds_.insert(fd);
    if (clock_ != nullptr) {
      clock_->watch(fd);
      clock_->thread_started();  // now, so that time cannot move before the thread runs
    }
    threads_.emplace_back([this, fd] { serve_connection(fd); });
  }
  if (clock_ != nullptr) clock_->thread_ended();
}

void FakeOpenAiServer::serve_connection(int fd) {
  std::string buffer;
  char chunk[65536];
  while (true) {
    // Headers, then a Content-Length body.
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = receive(fd, chunk, sizeof chunk);
      if (n <= 0) goto closed;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    {
      const std::string head = buffer.substr(0, head_end);
      size_t content_length = 0;
      std::string lower = head;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (const size_t at = lower.find("content-length:"); at != std::string::npos) {
        content_length = std::stoul(head.substr(at + 15));
      }
      while (buffer.size() < head_end + 4 + content_length) {
        const ssize_t n = receive(fd, chunk, sizeof chunk);
        if (n <= 0) goto closed;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string request_line = head.substr(0, head.find("\r\n"));
      const std::string body = buffer.substr(head_end + 4, content_length);
      buffer.erase(0, head_end + 4 + content_length);
      const std::string path =
          request_line.substr(request_line.find(' ') + 1, request_line.rfind(' ') - request_line.find(' ') - 1);
      if (path == "/v1/models") {
        send_json(fd, 200, R"({"object":"list","data":[{"id":"fake-model","object":"model"}]})");
      } else if (path == "/tokenize") {
        simdjson::dom::parser parser;
        std::string_view prompt;
        if (parser.parse(body).at_key("prompt").get(prompt)) prompt = "";
        send_json(fd, 200, fmt::format(R"({{"count":{}}})", word_count(std::string(prompt)) + 1));  // + BOS
      } else if (path == "/v1/completions" || path == "/v1/chat/completions") {
        stream_answer(fd, path, body);
      } else {
        send_json(fd, 404, R"({"error":{"message":"no such path"}})");
      }
    }
    if (stopping_) break;
  }
closed:
  close_connection(fd);
}

void FakeOpenAiServer::stream_answer(int fd, const std::string& path, const std::string& body) {
  const int64_t received = time_ns();
  const bool chat = path == "/v1/chat/completions";
  simdjson::dom::parser parser;
  simdjson::dom::element request = parser.parse(body);
  std::string prompt;
  if (chat) {
    simdjson::dom::array messages = request["messages"];
    prompt = std::string(std::string_view(messages.at(messages.size() - 1)["content"]));
  } else {
    prompt = std::string(std::string_view(request["prompt"]));
  }
  int64_t max_tokens = script_.default_tokens;
  if (request["max_tokens"].get(max_tokens)) max_tokens = script_.default_tokens;

  if (const auto status = directive(prompt, "status")) {
    send_json(fd, *status,
              fmt::format(R"({{"error":{{"message":"scripted {}","type":"test","code":{}}}}})", *status, *status));
    return;
  }
  if (has_word(prompt, "hang")) {
    char byte;
    while (receive(fd, &byte, 1) > 0) {
    }
    return;
  }
  const int ttft_ms = directive(prompt, "ttft_ms").value_or(script_.ttft_ms);
  const int itl_ms = directive(prompt, "itl_ms").value_or(script_.itl_ms);
  const int tokens = directive(prompt, "tokens").value_or(static_cast<int>(max_tokens));
  const std::string object = chat ? "chat.completion.chunk" : "text_completion";
  const auto chunk = [&](std::string_view text, bool last) {
    const std::string finish = last ? R"("length")" : "null";
    if (chat) {
      return fmt::format(R"({{"id":"x","object":"{}","choices":[{{"index":0,"delta":{{"content":"{}"}},)"
                         R"("finish_reason":{}}}],"usage":null}})",
                         object, text, finish);
    }
    return fmt::format(R"({{"id":"x","object":"{}","choices":[{{"index":0,"text":"{}","finish_reason":{}}}],)"
                       R"("usage":null}})",
                       object, text, finish);
  };

  sleep_until(received + script_.head_ms * kNsPerMs);
  if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
  // A chat stream opens with the role and empty content, as OpenAI's does: not a token.
  if (chat && !send_event(fd, R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":0,)"
                              R"("delta":{"role":"assistant","content":""},"finish_reason":null}]})")) {
    return;
  }
  ++streams_started_;
  const bool slotted = script_.slots > 0;
  if (slotted) slots_.acquire();
  const int64_t start = slotted ? time_ns() : received;  // the timetable runs from the moment the server takes it on
  bool ok = true;
  for (int k = 0; k < tokens && ok; ++k) {
    sleep_until(start + (ttft_ms + k * itl_ms) * kNsPerMs);
    ok = send_event(fd, chunk("tok ", k + 1 == tokens));
    if (ok && has_word(prompt, "disconnect")) {
      shutdown(fd, SHUT_RDWR);
      ok = false;
    }
    if (ok && k == 0 && has_word(prompt, "malformed")) ok = send_event(fd, "{not json");
  }
  if (slotted) slots_.release();
  if (!ok) return;
  if (!has_word(prompt, "no_usage")) {
    send_event(fd, fmt::format(R"({{"id":"x","object":"{}","choices":[],"usage":{{"prompt_tokens":{},)"
                               R"("completion_tokens":{},"total_tokens":{}}}}})",
                               object, word_count(prompt), tokens, word_count(prompt) + tokens));
  }
  send_event(fd, "[DONE]");
  send_all(fd, "0\r\n\r\n");
  if (has_word(prompt, "close_after")) shutdown(fd, SHUT_RDWR);  // as an idle timeout would, racing the next request
}

}  // namespace rs::ringperf::test
