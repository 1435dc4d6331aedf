#pragma once
// The errors of the interpreter: what a caller sees, what builtins throw, and
// what a template raises itself.
#include <stdexcept>
#include <string>

namespace rs::jinja {

// A template that cannot be parsed or rendered: names the template and the line.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(std::string template_name, int line, std::string reason, bool raised_by_template = false);

  const std::string& template_name() const { return template_name_; }
  int line() const { return line_; }
  const std::string& reason() const { return reason_; }  // the message without the location
  // The template's own raise_exception(): `reason` was written for its users, not by the interpreter.
  bool raised_by_template() const { return raised_by_template_; }

 private:
  std::string template_name_;
  int line_;
  std::string reason_;
  bool raised_by_template_;
};

// Thrown by values and builtins, which know no location; the evaluator turns it
// into a TemplateError at the innermost node being evaluated.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a chat template's raise_exception(message) throws: a TemplateError that is raised_by_template().
struct RaisedError : EvalError {
  using EvalError::EvalError;
};

}  // namespace rs::jinja
