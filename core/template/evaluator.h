#pragma once
// Renders a syntax tree the way Jinja2 does: Python semantics for values,
// Jinja's scoping (a for loop or macro body is its own scope, an if is not),
// and the bounds of limits.h.
#include <string>

#include "core/template/ast.h"
#include "core/template/limits.h"
#include "core/template/value.h"

namespace rs::jinja {

// `variables` are the render's context, looked up after the template's own
// assignments and before Jinja's globals. Throws TemplateError naming
// `template_name` and the line, also once the render has spent `budget`.
std::string render(const ast::Body& body, const std::string& template_name, const Object& variables,
                   const limits::Budget& budget);

}  // namespace rs::jinja
