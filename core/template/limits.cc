#include "core/template/limits.h"

#include <fmt/format.h>

#include "core/template/error.h"

namespace rs::jinja::limits {
namespace {

thread_local Spending* current = nullptr;

}  // namespace

void check_string_size(size_t size) {
  if (size > max_string_bytes) {
    throw EvalError(fmt::format("a string of {} bytes would pass the limit of {} bytes", size, max_string_bytes));
  }
}

void check_items(size_t count) {
  if (count > max_items)
    throw EvalError(fmt::format("a list of {} items would pass the limit of {}", count, max_items));
}

Spending::Spending(const Budget& budget) : budget_(budget), outer_(current) { current = this; }

Spending::~Spending() { current = outer_; }

void Spending::step() {
  if (++steps_ > budget_.steps) {
    throw EvalError(
        fmt::format("the template ran more than {} steps (statements, expressions, loop iterations and macro calls)",
                    budget_.steps));
  }
}

void charge_bytes(size_t bytes) {
  if (current == nullptr) return;
  if (bytes > current->budget_.bytes - current->bytes_) {
    throw EvalError(fmt::format("the template built more than {} bytes of values", current->budget_.bytes));
  }
  current->bytes_ += bytes;
}

}  // namespace rs::jinja::limits
