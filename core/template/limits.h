#pragma once
// Bounds on what one render may build, so that a hostile template or request
// fails with an error instead of exhausting memory, the stack or the CPU.
#include <cstddef>

namespace rs::jinja::limits {

inline constexpr size_t max_string_bytes = size_t(16) << 20;    // any string, the output included
inline constexpr size_t max_items = size_t(1) << 20;            // any list built by the template
inline constexpr size_t max_loop_iterations = size_t(1) << 20;  // all loops of one render together
inline constexpr int max_depth = 400;          // nested evaluation: expressions, statements and macro calls
inline constexpr int max_parse_nesting = 200;  // nested expressions and blocks in the source

// EvalError when a string or list of `size` would pass its bound.
void check_string_size(size_t size);
void check_items(size_t count);

}  // namespace rs::jinja::limits
