// libFuzzer target: arbitrary bytes, split at arbitrary points, into one HTTP
// connection whose handler answers at once, later, or as a stream. Checks the
// byte accounting and that nothing crashes (run under ASan + UBSan).
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string_view>

#include "io/connection.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rs::io;
  if (size < 2) return 0;
  const uint8_t split = data[0];     // how the bytes are cut into receives
  const uint8_t behaviour = data[1];  // how the handler answers
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  ServerConfig config;
  config.limits = {.max_header_bytes = 512, .max_body_bytes = 1024};
  config.max_pipeline = 1 + behaviour % 4;
  config.max_output_bytes = 4096;
  HttpMetrics metrics;
  OutputBudget budget(1 << 16);
  const std::string date = "D";
  std::deque<uint64_t> deferred;
  Connection* self = nullptr;
  auto now = Clock::now();
  auto owned = std::make_unique<Connection>(1, "fuzz", config, metrics, budget, now, date, [&](Connection& c, Exchange& e) {
    switch ((behaviour >> 2) % 3) {
      case 0: {
        Response r;
        r.body = Bytes(std::string(e.request.body));
        c.respond(e, std::move(r));
        break;
      }
      case 1: deferred.push_back(e.id); break;
      case 2:
        c.stream_begin(e, {});
        c.stream_write(e, sse_event(e.request.target));
        deferred.push_back(e.id);
        break;
    }
  });
  Connection& connection = *owned;
  self = &connection;

  size_t total_out = 0;
  const size_t piece = 1 + split % 64;
  while (!input.empty() && !self->broken()) {
    const size_t n = std::min(piece, input.size());
    connection.receive(input.substr(0, n));
    input.remove_prefix(n);
    now += std::chrono::milliseconds(split);
    connection.check_timeouts();
    // Answer the oldest deferred request, streamed or not.
    if (!deferred.empty() && (behaviour & 0x40)) {
      if (Exchange* e = connection.find(deferred.front())) {
        if (e->responded) connection.stream_end(*e);
        else connection.respond(*e, error_response(500, "x"));
      }
      deferred.pop_front();
    }
    iovec iov[16];
    while (connection.has_output()) {
      const size_t count = connection.gather(iov, 16);
      check(count > 0);
      size_t bytes = 0;
      for (size_t i = 0; i < count; ++i) bytes += iov[i].iov_len;
      const size_t sent = (behaviour & 0x80) ? std::max<size_t>(1, bytes / 2) : bytes;
      connection.sent(sent);
      total_out += sent;
    }
  }
  if (behaviour & 0x20) connection.drain();
  else connection.receive_eof();
  if (split & 1) connection.cut();
  connection.abort();
  check(metrics.bytes_sent.value() == total_out);
  owned.reset();
  check(budget.used() == 0);  // every byte queued was sent or given back
  return 0;
}
