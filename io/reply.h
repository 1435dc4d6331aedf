#pragma once
// The handle a handler answers through: a full response, or a stream of
// pieces (chunked transfer encoding; Server-Sent Events are one use of it).
// Every call belongs on the owning shard's thread; from another thread, post a
// task with shard().post(). Calls after the client has gone do nothing.
#include <cstdint>
#include <functional>
#include <string_view>

#include "io/connection_owner.h"
#include "io/http_response.h"

namespace rs::io {

struct Exchange;

class Reply {
 public:
  Reply(ConnectionOwner& shard, uint64_t connection_id, uint64_t exchange_id)
      : shard_(&shard), connection_id_(connection_id), exchange_id_(exchange_id) {}

  void send(Response response);
  void start(StreamHead head = {});
  // False when the client is gone or reads too slowly: stop producing.
  bool write(Bytes bytes);
  bool event(std::string_view data);  // one SSE event, flushed as soon as the socket takes it
  void end();
  // Called (on the shard thread) if the client goes away before end().
  void on_abort(std::function<void()> callback);
  // Called (on the shard thread) at the shutdown deadline if the response is
  // still running: end it now, saying why. Without one, a response not yet
  // begun gets 503 and a stream just ends.
  void on_cut(std::function<void()> callback);
  bool alive() const;

  ConnectionOwner& shard() const { return *shard_; }

 private:
  Exchange* exchange(Connection*& connection) const;

  ConnectionOwner* shard_;
  uint64_t connection_id_;
  uint64_t exchange_id_;
};

}  // namespace rs::io
