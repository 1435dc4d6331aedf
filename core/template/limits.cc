#include "core/template/limits.h"

#include <fmt/format.h>

#include "core/template/error.h"

namespace rs::jinja::limits {

void check_string_size(size_t size) {
  if (size > max_string_bytes) {
    throw EvalError(fmt::format("a string of {} bytes would pass the limit of {} bytes", size, max_string_bytes));
  }
}

void check_items(size_t count) {
  if (count > max_items)
    throw EvalError(fmt::format("a list of {} items would pass the limit of {}", count, max_items));
}

}  // namespace rs::jinja::limits
