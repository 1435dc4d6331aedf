#pragma once
// A Jinja template parsed once and rendered many times, concurrently if need
// be: rendering changes nothing in it.
#include <string>
#include <string_view>

#include "core/template/ast.h"
#include "core/template/limits.h"
#include "core/template/value.h"

namespace rs::jinja {

class Template {
 public:
  // Throws TemplateError for a syntax error or a construct outside the supported subset.
  Template(std::string_view source, std::string name);

  // Throws TemplateError for a render error (raise_exception included), and once the render spends `budget`.
  std::string render(const Object& variables, const limits::Budget& budget = {}) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  ast::Body body_;
};

}  // namespace rs::jinja
