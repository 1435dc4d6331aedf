#include "io/reply.h"

#include "io/connection.h"

namespace rs::io {

Exchange* Reply::exchange(Connection*& connection) const {
  connection = shard_->connection(connection_id_);
  if (connection == nullptr) return nullptr;
  Exchange* exchange = connection->find(exchange_id_);
  return exchange != nullptr && !exchange->finished ? exchange : nullptr;
}

void Reply::send(Response response) {
  Connection* connection;
  if (Exchange* e = exchange(connection)) {
    connection->respond(*e, std::move(response));
    shard_->schedule(connection_id_);
  }
}

void Reply::start(StreamHead head) {
  Connection* connection;
  if (Exchange* e = exchange(connection)) {
    connection->stream_begin(*e, std::move(head));
    shard_->schedule(connection_id_);
  }
}

bool Reply::write(Bytes bytes) {
  Connection* connection;
  Exchange* e = exchange(connection);
  if (e == nullptr) return false;
  const bool ok = connection->stream_write(*e, std::move(bytes));
  shard_->schedule(connection_id_);
  return ok;
}

bool Reply::event(std::string_view data) { return write(sse_event(data)); }

void Reply::end() {
  Connection* connection;
  if (Exchange* e = exchange(connection)) {
    connection->stream_end(*e);
    shard_->schedule(connection_id_);
  }
}

void Reply::on_abort(std::function<void()> callback) {
  Connection* connection;
  if (Exchange* e = exchange(connection)) e->on_abort = std::move(callback);
}

void Reply::on_cut(std::function<void()> callback) {
  Connection* connection;
  if (Exchange* e = exchange(connection)) e->on_cut = std::move(callback);
}

bool Reply::alive() const {
  Connection* connection;
  return exchange(connection) != nullptr && !connection->broken();
}

}  // namespace rs::io
