#include "io/router.h"

namespace rs::io {

void Router::add(Method method, std::string path, Handler handler) {
  routes_[std::move(path)][method] = std::move(handler);
}

Router::Match Router::find(Method method, std::string_view path) const {
  auto route = routes_.find(path);
  if (route == routes_.end()) {
    // The longest "/*" route that `path` is under: "/a/b/*" before "/a/*".
    for (size_t slash = path.rfind('/'); slash != std::string_view::npos && route == routes_.end();
         slash = slash == 0 ? std::string_view::npos : path.rfind('/', slash - 1)) {
      route = routes_.find(std::string(path.substr(0, slash + 1)) + "*");
    }
    if (route == routes_.end()) return {nullptr, 404, {}};
  }
  const auto& methods = route->second;
  auto handler = methods.find(method);
  if (handler == methods.end() && method == Method::head) handler = methods.find(Method::get);
  if (handler != methods.end()) return {&handler->second, 0, {}};
  Match match{nullptr, 405, {}};
  for (const auto& [m, h] : methods) {
    if (!match.allow.empty()) match.allow.append(", ");
    match.allow.append(method_name(m));
    if (m == Method::get) match.allow.append(", HEAD");
  }
  return match;
}

}  // namespace rs::io
