#pragma once
// Routing table: path → method → handler. HEAD runs the GET handler. A path
// ending in "/*" matches every path under it that has no exact route
// ("/v1/models/*": "/v1/models/llama"); the handler reads the rest itself.
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "io/http_request.h"
#include "io/reply.h"

namespace rs::io {

// Runs on the shard thread. Answer through `reply` now, or keep it (it is a
// cheap handle) and answer later from a task posted to the shard.
using Handler = std::function<void(Request& request, Reply reply)>;

class Router {
 public:
  void add(Method method, std::string path, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: answer `status` (404 or 405)
    int status = 0;
    std::string allow;                 // for 405: the methods the path accepts
  };
  Match find(Method method, std::string_view path) const;

 private:
  std::map<std::string, std::map<Method, Handler>, std::less<>> routes_;
};

}  // namespace rs::io
