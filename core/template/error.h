#pragma once
// The two errors of the interpreter: what a caller sees, and what builtins throw.
#include <stdexcept>
#include <string>

namespace rs::jinja {

// A template that cannot be parsed or rendered: names the template and the line.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(std::string template_name, int line, std::string reason);

  const std::string& template_name() const { return template_name_; }
  int line() const { return line_; }
  const std::string& reason() const { return reason_; }  // the message without the location

 private:
  std::string template_name_;
  int line_;
  std::string reason_;
};

// Thrown by values and builtins, which know no location; the evaluator turns it
// into a TemplateError at the innermost node being evaluated.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rs::jinja
