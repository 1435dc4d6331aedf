#pragma once
// A blocking loopback HTTP/1.1 client for tests: raw sends, and responses read
// with llhttp (so framing is checked by a real parser, not by the code under test).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::test {

using namespace std::chrono_literals;

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> chunks;  // chunked bodies: each chunk as sent
  bool keep_alive = true;
  std::optional<std::string> header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port);  // connects to 127.0.0.1:port; fails the test on error
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  void send(std::string_view bytes);
  // Reads the next response; nullopt on timeout or if the server closed first.
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5000ms,
                                            bool head_request = false);
  // Reads raw bytes until `needle` has arrived; returns everything read so far.
  std::string read_until(std::string_view needle, std::chrono::milliseconds timeout = 5000ms);
  // True if the server closes the connection within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = 5000ms);
  void close();
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::milliseconds timeout);  // false on timeout or EOF

  int fd_ = -1;
  std::string buffer_;  // received, not yet consumed
  bool eof_ = false;
};

// One request, one response, on a fresh connection.
bool can_connect(uint16_t port);
std::optional<HttpResponse> fetch(uint16_t port, std::string_view request);
std::string get_request(std::string_view path, std::string_view extra_headers = "");

}  // namespace rs::test
