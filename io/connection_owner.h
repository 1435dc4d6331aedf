#pragma once
// The shard that owns a connection, as a Reply and the handlers holding one see
// it: where the Reply finds its exchange and schedules its sends, and where
// other threads post work for the shard's thread. Shard implements it, so that
// a Reply never depends on the reactor itself.
#include <cstdint>
#include <functional>

namespace rs::io {

class Connection;

class ConnectionOwner {
 public:
  using Task = std::function<void()>;

  // Any thread: run `task` on the shard's thread soon. Lock-free.
  virtual void post(Task task) = 0;
  virtual int index() const = 0;

  // The shard's thread only.
  virtual Connection* connection(uint64_t id) = 0;    // null once closed
  virtual void schedule(uint64_t connection_id) = 0;  // send / close / re-arm after this loop turn

 protected:
  ~ConnectionOwner() = default;
};

}  // namespace rs::io
