#pragma once
// Bounds on what one render may build, so that a hostile template or request
// fails with an error instead of exhausting memory, the stack or the CPU.
#include <cstddef>

namespace rs::jinja::limits {

inline constexpr size_t max_string_bytes = size_t(16) << 20;  // any string, the output included
inline constexpr size_t max_items = size_t(1) << 20;          // any list built by the template
inline constexpr int max_depth = 400;          // nested evaluation: expressions, statements and macro calls
inline constexpr int max_parse_nesting = 200;  // nested expressions and blocks in the source

// What one render may spend in all, where the bounds above hold for one value at a time: without it a few
// lines of loops or of macros calling themselves twice run for hours, or keep gigabytes of strings.
struct Budget {
  size_t steps = size_t(1) << 20;    // statements run, expressions evaluated, loop iterations and macro calls
  size_t bytes = size_t(256) << 20;  // of the strings and lists it makes, freed or not
};

// EvalError when a string or list of `size` would pass its bound.
void check_string_size(size_t size);
void check_items(size_t count);

// What the render running on this thread has spent of its budget, while it lives.
class Spending {
 public:
  explicit Spending(const Budget& budget);
  ~Spending();
  Spending(const Spending&) = delete;
  Spending& operator=(const Spending&) = delete;

  void step();  // EvalError once the steps are spent

 private:
  friend void charge_bytes(size_t bytes);
  Budget budget_;
  size_t steps_ = 0, bytes_ = 0;
  Spending* outer_;  // the render this one runs inside, if any
};

// Charges the render running on this thread, if any, for a value of `bytes`: EvalError once they are spent.
void charge_bytes(size_t bytes);

}  // namespace rs::jinja::limits
